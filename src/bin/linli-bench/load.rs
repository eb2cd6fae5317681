//! Bounded keep-alive load against one endpoint, measured per scenario.

use super::*;

// ---------------------------------------------------------------- load

pub(crate) struct Scenario {
    pub(crate) name: String,
    pub(crate) what: &'static str,
    /// The path; with `cycle` > 0, the prefix to which 1..=cycle is appended in turn.
    pub(crate) path: String,
    pub(crate) headers: Vec<(header::HeaderName, HeaderValue)>,
    pub(crate) cycle: u64,
    pub(crate) next: AtomicU64,
}

impl Scenario {
    pub(crate) fn new(
        name: &str,
        what: &'static str,
        path: String,
        headers: Vec<(header::HeaderName, HeaderValue)>,
    ) -> Scenario {
        Scenario {
            name: name.into(),
            what,
            path,
            headers,
            cycle: 0,
            next: AtomicU64::new(0),
        }
    }

    /// The path as shown in reports.
    pub(crate) fn shown_path(&self) -> String {
        if self.cycle > 0 {
            format!("{}{{1..={}}}", self.path, self.cycle)
        } else {
            self.path.clone()
        }
    }

    pub(crate) fn request(&self, host: &HeaderValue) -> Request<Full<Bytes>> {
        let mut req = Request::new(Full::new(Bytes::new()));
        *req.uri_mut() = if self.cycle > 0 {
            let n = self.next.fetch_add(1, Ordering::Relaxed) % self.cycle + 1;
            format!("{}{n}", self.path).parse().expect("valid path")
        } else {
            self.path.parse().expect("valid path")
        };
        let h = req.headers_mut();
        h.insert(header::HOST, host.clone());
        for (k, v) in &self.headers {
            h.insert(k.clone(), v.clone());
        }
        req
    }
}

#[derive(Default)]
pub(crate) struct WorkerStats {
    /// Latencies (µs) of the requests that completed in the measured window, any status.
    pub(crate) latencies: Vec<u32>,
    pub(crate) ok: u64,
    pub(crate) statuses: BTreeMap<u16, u64>,
    pub(crate) transport_errors: u64,
    pub(crate) first_error: Option<String>,
    pub(crate) bytes: u64,
    pub(crate) reconnects: u64,
}

pub(crate) struct Outcome {
    pub(crate) name: String,
    pub(crate) what: &'static str,
    pub(crate) path: String,
    pub(crate) seconds: f64,
    pub(crate) requests: u64,
    pub(crate) ok: u64,
    pub(crate) errors: u64,
    pub(crate) statuses: BTreeMap<u16, u64>,
    pub(crate) transport_errors: u64,
    pub(crate) first_error: Option<String>,
    pub(crate) p50_us: u32,
    pub(crate) p90_us: u32,
    pub(crate) p99_us: u32,
    pub(crate) max_us: u32,
    pub(crate) mean_bytes: f64,
    pub(crate) reconnects: u64,
    pub(crate) server_cpu: Option<Duration>,
    /// The server's peak RSS (kB), thread count and open database files seen while measuring.
    pub(crate) peak: Sample,
}

impl Outcome {
    pub(crate) fn rps(&self) -> f64 {
        self.requests as f64 / self.seconds
    }
    pub(crate) fn ok_rps(&self) -> f64 {
        self.ok as f64 / self.seconds
    }
    /// Server CPU per request, in µs.
    pub(crate) fn cpu_per_req_us(&self) -> Option<f64> {
        let cpu = self.server_cpu?;
        (self.requests > 0).then(|| cpu.as_secs_f64() * 1e6 / self.requests as f64)
    }
}

pub(crate) async fn worker(
    addr: SocketAddr,
    sc: Arc<Scenario>,
    start: Instant,
    end: Instant,
) -> WorkerStats {
    let host = HeaderValue::from_str(&addr.to_string()).expect("host");
    let mut st = WorkerStats::default();
    let mut sender: Option<Sender> = None;
    let mut connected_once = false;
    while Instant::now() < end {
        if sender.is_none() {
            match connect(addr).await {
                Ok(s) => {
                    if connected_once {
                        st.reconnects += 1;
                    }
                    connected_once = true;
                    sender = Some(s);
                }
                Err(e) => {
                    if Instant::now() >= start {
                        st.transport_errors += 1;
                    }
                    st.first_error
                        .get_or_insert_with(|| format!("connect: {e:#}"));
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            }
        }
        let s = sender.as_mut().expect("connected");
        let req = sc.request(&host);
        let t0 = Instant::now();
        let res = tokio::time::timeout(REQUEST_TIMEOUT, async {
            s.ready().await?;
            let res = s.send_request(req).await?;
            let status = res.status();
            let keep = !res
                .headers()
                .get(header::CONNECTION)
                .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"close"));
            let body = res.into_body().collect().await?.to_bytes();
            anyhow::Ok((status, body.len(), keep))
        })
        .await;
        let t1 = Instant::now();
        let counted = t1 >= start && t1 < end;
        match res {
            Ok(Ok((status, len, keep))) => {
                if counted {
                    st.latencies
                        .push((t1 - t0).as_micros().min(u32::MAX as u128) as u32);
                    *st.statuses.entry(status.as_u16()).or_default() += 1;
                    if status.is_success() {
                        st.ok += 1;
                    }
                    st.bytes += len as u64;
                }
                if !keep {
                    sender = None;
                }
            }
            Ok(Err(e)) => {
                if counted {
                    st.transport_errors += 1;
                }
                st.first_error.get_or_insert_with(|| format!("{e:#}"));
                sender = None;
            }
            Err(_) => {
                if counted {
                    st.transport_errors += 1;
                }
                st.first_error
                    .get_or_insert_with(|| format!("no answer in {} s", REQUEST_TIMEOUT.as_secs()));
                sender = None;
            }
        }
    }
    st
}

pub(crate) fn percentile(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// How hard and how long a scenario is driven.
#[derive(Clone, Copy)]
pub(crate) struct Load {
    pub(crate) warmup: f64,
    pub(crate) seconds: f64,
    pub(crate) connections: usize,
}

pub(crate) async fn run_scenario(addr: SocketAddr, pid: i32, sc: Scenario, args: Load) -> Outcome {
    let sc = Arc::new(sc);
    let t0 = Instant::now();
    let start = t0 + Duration::from_secs_f64(args.warmup);
    let end = start + Duration::from_secs_f64(args.seconds);
    let tasks: Vec<_> = (0..args.connections)
        .map(|_| tokio::spawn(worker(addr, sc.clone(), start, end)))
        .collect();
    // Server CPU over the measured window only; its memory, threads and open database files
    // sampled every 100 ms meanwhile.
    tokio::time::sleep_until(start.into()).await;
    let cpu0 = proc_cpu(pid);
    let mut peak = Sample::default();
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    while Instant::now() < end {
        tick.tick().await;
        peak = peak.max(Sample::take(pid));
    }
    tokio::time::sleep_until(end.into()).await;
    let cpu1 = proc_cpu(pid);
    let mut all = WorkerStats::default();
    for t in tasks {
        match t.await {
            Ok(st) => {
                all.latencies.extend(st.latencies);
                all.ok += st.ok;
                for (k, v) in st.statuses {
                    *all.statuses.entry(k).or_default() += v;
                }
                all.transport_errors += st.transport_errors;
                all.bytes += st.bytes;
                all.reconnects += st.reconnects;
                if all.first_error.is_none() {
                    all.first_error = st.first_error;
                }
            }
            Err(e) => {
                all.transport_errors += 1;
                all.first_error
                    .get_or_insert_with(|| format!("worker panicked: {e}"));
            }
        }
    }
    all.latencies.sort_unstable();
    let completed = all.latencies.len() as u64;
    let requests = completed + all.transport_errors;
    Outcome {
        name: sc.name.clone(),
        what: sc.what,
        path: sc.shown_path(),
        seconds: args.seconds,
        requests,
        ok: all.ok,
        errors: requests - all.ok,
        statuses: all.statuses,
        transport_errors: all.transport_errors,
        first_error: all.first_error,
        p50_us: percentile(&all.latencies, 50.0),
        p90_us: percentile(&all.latencies, 90.0),
        p99_us: percentile(&all.latencies, 99.0),
        max_us: all.latencies.last().copied().unwrap_or(0),
        mean_bytes: if completed > 0 {
            all.bytes as f64 / completed as f64
        } else {
            0.0
        },
        reconnects: all.reconnects,
        server_cpu: match (cpu0, cpu1) {
            (Some(a), Some(b)) => Some(b.saturating_sub(a)),
            _ => None,
        },
        peak,
    }
}

// ---------------------------------------------------------------- the command

pub(crate) fn ms(us: u32) -> f64 {
    us as f64 / 1000.0
}

pub(crate) fn pass(ok: bool) -> &'static str {
    if ok { "PASS" } else { "FAIL" }
}
