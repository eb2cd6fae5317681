//! The values that cross the storage boundary, identical on both backends.

/// One SQL value.
#[derive(Clone, Debug, PartialEq)]
pub enum Val {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

impl From<i64> for Val {
    fn from(v: i64) -> Self {
        Val::Int(v)
    }
}
impl From<i32> for Val {
    fn from(v: i32) -> Self {
        Val::Int(v as i64)
    }
}
impl From<usize> for Val {
    fn from(v: usize) -> Self {
        Val::Int(v as i64)
    }
}
impl From<bool> for Val {
    fn from(v: bool) -> Self {
        Val::Int(v as i64)
    }
}
impl From<f64> for Val {
    fn from(v: f64) -> Self {
        Val::Real(v)
    }
}
impl From<&str> for Val {
    fn from(v: &str) -> Self {
        Val::Text(v.to_string())
    }
}
impl From<String> for Val {
    fn from(v: String) -> Self {
        Val::Text(v)
    }
}
impl From<&String> for Val {
    fn from(v: &String) -> Self {
        Val::Text(v.clone())
    }
}
impl From<Vec<u8>> for Val {
    fn from(v: Vec<u8>) -> Self {
        Val::Blob(v)
    }
}
impl From<&[u8]> for Val {
    fn from(v: &[u8]) -> Self {
        Val::Blob(v.to_vec())
    }
}
impl<T: Into<Val>> From<Option<T>> for Val {
    fn from(v: Option<T>) -> Self {
        match v {
            Some(v) => v.into(),
            None => Val::Null,
        }
    }
}

/// One result row. Getters are lenient about representation (an integer column read as
/// text gives its digits) and panic only on a programming error: a column index past the end.
#[derive(Clone, Debug)]
pub struct Row(pub Vec<Val>);

impl Row {
    pub fn val(&self, i: usize) -> &Val {
        &self.0[i]
    }
    pub fn i64(&self, i: usize) -> i64 {
        self.opt_i64(i).unwrap_or(0)
    }
    pub fn opt_i64(&self, i: usize) -> Option<i64> {
        match &self.0[i] {
            Val::Int(v) => Some(*v),
            Val::Real(v) => Some(*v as i64),
            Val::Text(s) => s.parse().ok(),
            _ => None,
        }
    }
    pub fn bool(&self, i: usize) -> bool {
        self.i64(i) != 0
    }
    pub fn f64(&self, i: usize) -> f64 {
        self.opt_f64(i).unwrap_or(0.0)
    }
    pub fn opt_f64(&self, i: usize) -> Option<f64> {
        match &self.0[i] {
            Val::Int(v) => Some(*v as f64),
            Val::Real(v) => Some(*v),
            Val::Text(s) => s.parse().ok(),
            _ => None,
        }
    }
    pub fn str(&self, i: usize) -> String {
        self.opt_str(i).unwrap_or_default()
    }
    pub fn opt_str(&self, i: usize) -> Option<String> {
        match &self.0[i] {
            Val::Text(s) => Some(s.clone()),
            Val::Int(v) => Some(v.to_string()),
            Val::Real(v) => Some(v.to_string()),
            Val::Blob(b) => String::from_utf8(b.clone()).ok(),
            Val::Null => None,
        }
    }
    /// Moves a text value out of the row (no copy); `None` for NULL.
    pub fn take_str(&mut self, i: usize) -> Option<String> {
        match std::mem::replace(&mut self.0[i], Val::Null) {
            Val::Text(s) => Some(s),
            Val::Null => None,
            other => {
                self.0[i] = other;
                self.opt_str(i)
            }
        }
    }
    pub fn blob(&self, i: usize) -> Option<Vec<u8>> {
        match &self.0[i] {
            Val::Blob(b) => Some(b.clone()),
            Val::Text(s) => Some(s.as_bytes().to_vec()),
            _ => None,
        }
    }
}
