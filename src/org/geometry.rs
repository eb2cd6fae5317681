//! Places' shapes, as stored (GeoJSON text: a Polygon for a street, community or grid, a Point
//! for a building), read into `geo` types: where a point marked on the map lies, and where a
//! place is when a case gives no point.

use std::str::FromStr;

use geo::{Centroid, Contains, Geometry};

/// A place's shape.
#[derive(Clone, Debug)]
pub struct Shape(Geometry<f64>);

impl Shape {
    /// Reads a GeoJSON geometry; `None` for text that is not one.
    pub fn parse(geojson: &str) -> Option<Shape> {
        let g = geojson::Geometry::from_str(geojson).ok()?;
        Geometry::<f64>::try_from(g).ok().map(Shape)
    }

    /// The point of a Point, `(lat, lon)`.
    pub fn point(&self) -> Option<(f64, f64)> {
        match &self.0 {
            Geometry::Point(p) => Some((p.y(), p.x())),
            _ => None,
        }
    }

    /// Whether an area (Polygon, MultiPolygon) holds the point; a point never holds one.
    pub fn holds(&self, lat: f64, lon: f64) -> bool {
        let p = geo::Point::new(lon, lat);
        match &self.0 {
            Geometry::Polygon(a) => a.contains(&p),
            Geometry::MultiPolygon(a) => a.contains(&p),
            _ => false,
        }
    }

    /// The middle of the shape, `(lat, lon)`: a Point's own, an area's centroid.
    pub fn centre(&self) -> Option<(f64, f64)> {
        self.0.centroid().map(|p| (p.y(), p.x()))
    }

    /// The outer ring of an area (the first polygon's), as `(lon, lat)` pairs.
    pub fn outline(&self) -> Option<Vec<(f64, f64)>> {
        let poly = match &self.0 {
            Geometry::Polygon(a) => a,
            Geometry::MultiPolygon(a) => a.0.first()?,
            _ => return None,
        };
        let pts: Vec<(f64, f64)> = poly.exterior().coords().map(|c| (c.x, c.y)).collect();
        (pts.len() >= 3).then_some(pts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SQUARE: &str = r#"{"type":"Polygon","coordinates":[[[121.5,31.2],[121.51,31.2],[121.51,31.21],[121.5,31.21],[121.5,31.2]]]}"#;

    #[test]
    fn areas_hold_the_points_inside_them() {
        let s = Shape::parse(SQUARE).unwrap();
        assert!(s.holds(31.205, 121.505));
        assert!(!s.holds(31.215, 121.505));
        assert!(!s.holds(31.205, 121.49));
        let (lat, lon) = s.centre().unwrap();
        assert!((lat - 31.205).abs() < 1e-9 && (lon - 121.505).abs() < 1e-9);
        assert_eq!(s.outline().unwrap().len(), 5);
        assert!(s.point().is_none());
    }

    #[test]
    fn a_point_is_its_own_centre_and_holds_nothing() {
        let s = Shape::parse(r#"{"type":"Point","coordinates":[121.505,31.205]}"#).unwrap();
        assert_eq!(s.point(), Some((31.205, 121.505)));
        assert_eq!(s.centre(), Some((31.205, 121.505)));
        assert!(!s.holds(31.205, 121.505));
        assert!(s.outline().is_none());
    }

    #[test]
    fn text_that_is_not_geojson_is_no_shape() {
        assert!(Shape::parse("").is_none());
        assert!(Shape::parse("{}").is_none());
        assert!(Shape::parse(r#"{"type":"Point","coordinates":"x"}"#).is_none());
    }
}
