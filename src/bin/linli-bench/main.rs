//! `linli-bench http`: measures the real `linli` binary as a user runs it.
//! `linli-bench audit`: measures the audit log's targets (append rate, verify time, what an
//! audited read costs); see [`audit`] below.
//!
//! It starts `linli demo` (next to this executable) on a fresh data folder, measures the
//! time until the server says it is listening, its idle memory, then drives bounded
//! keep-alive HTTP/1.1 load against a few endpoints, compares each with the `/healthz`
//! baseline measured in the same run, measures the CPU the server uses while idle (its
//! background jobs), checks the targets and finally stops the server with SIGTERM to see
//! whether it shuts down cleanly.
//!
//! ```text
//! cargo build --release --bins
//! ./target/release/linli-bench http [--size street|small|district] [--seconds 10]
//!     [--connections 64] [--seed 1] [--keep DIR] [--startup-only] [--idle-seconds 20]
//! ./target/release/linli-bench audit [--entries 1000000] [--seconds 10]
//!     [--connections 64] [--keep DIR] [--mixed-entries 10000000] [--mixed-seconds 180]
//!     [--mixed-clients 16] [--mixed-only | --no-mixed]
//! ```
//!
//! The exit code is 0 when the measurement ran, even if a target is missed; it is non-zero
//! when the server cannot be started, signing in fails, or a scenario's requests fail
//! wholesale.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use bytes::Bytes;
use clap::{Args, Parser, Subcommand};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

mod audit;
mod cases;
mod cockpit;
mod common;
mod eligibility;
mod gates;
mod http;
mod jobs;
mod lists;
mod load;
mod mixed;
mod notices;
mod pages;
mod points;
mod reach;
mod registry;
mod sensing;
mod setup;
mod sheets;
mod surveys;
mod sweeps;
mod visits;
mod votes;

use common::*;
use load::*;

const PASSWORD: &str = "bench-pass-123";
const USERNAME: &str = "admin";
/// No single request may take longer than this; a slower one counts as an error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Parser, Debug)]
#[command(
    name = "linli-bench",
    about = "Benchmarks the linli binary as a user runs it"
)]
struct Cli {
    #[command(subcommand)]
    command: BenchCommand,
}

#[derive(Subcommand, Debug)]
enum BenchCommand {
    /// Start `linli demo`, measure startup and memory, drive HTTP load, check the targets.
    Http(http::HttpArgs),
    /// Measure the audit log: append rate on SQLite, `linli audit verify` over a large log,
    /// and what the audit entry adds to a person-detail read (against a server skipping it).
    Audit(audit::AuditArgs),
    /// The registry's targets: import and export of 100,000 rows, search at 16 clients.
    Registry(registry::RegistryArgs),
    /// The cases targets: creation over the API against /healthz, the escalation sweep over
    /// 1,000,000 open cases with their tasks, duplicate suggestion with 100,000 open cases, the
    /// figures report over a history of 1,000,000 cases.
    Cases(cases::CasesArgs),
    /// The cockpit targets: its pages and API at 16 clients, a fresh read of the board, and
    /// the time from a reported case to the tick of 200 open cockpits.
    Cockpit(cockpit::CockpitArgs),
    /// Measure sensing: HTTP and MQTT ingestion, reading → alert latency, armed timers.
    Sensing(sensing::SensingArgs),
    /// Time each periodic job of the server on a copy of a data folder.
    Jobs(jobs::JobsArgs),
    /// What lists cost the audit subject index: a day of grid workers paging through their
    /// grids, indexed once per viewer, person and day, against every name indexed.
    Lists(lists::ListsArgs),
    /// Every registry page family and list API at 16 clients, as a street administrator, a
    /// community worker and a grid worker, against /healthz; PASS/FAIL per target (issue 20).
    Pages(pages::PagesArgs),
    /// A real street on day one (issue 21): `linli import places` of 5,000 buildings and
    /// 200,000 units, invitation letters for 10,000 households, self-registration at 16 clients.
    Setup(setup::SetupArgs),
    /// Notices with receipts (issue 22): publishing to a street of 40,000 residents, a
    /// building's unread list at 16 clients against /healthz.
    Notices(notices::NoticesArgs),
    /// Owners' votes (issue 22): the count of a 5,000-owner vote against its 200 ms target.
    Votes(votes::VotesArgs),
    /// Policy finds the person (issue 23): previewing an eligibility rule over a street of
    /// 1.2 million persons against its 2 s target.
    Eligibility(eligibility::EligibilityArgs),
    /// Door-to-door sweeps (issue 23): starting a sweep over 40,000 households against a
    /// plain read of them, in the same run.
    Sweeps(sweeps::SweepsArgs),
    /// Messages out (issue 24): 10,000 queued messages delivered to a local SMTP server, and a
    /// care alert's first message leaving the outbox (p99).
    Reach(reach::ReachArgs),
    /// Home visits (issue 23): a grid's due list at 16 clients against /healthz, and the
    /// maintained latest-visit table against grouping every visit.
    Visits(visits::VisitsArgs),
    /// Surveys (issue 22): freezing 40,000 recipients, storing answer sheets, the results of
    /// 5,000 sheets, each against a baseline of the same run.
    Surveys(surveys::SurveysArgs),
    /// Volunteering (issue 25): the balances of 10,000 volunteers listed.
    Points(points::PointsArgs),
    /// Sign-up sheets (issue 25): a sheet with 2,000 entries exported for the supplier
    /// against its 1 s target, beside the bare XLSX writer in the same run.
    Sheets(sheets::SheetsArgs),
    /// Gates (issue 28): passages committed per second, one per transaction and in batches,
    /// against empty write transactions in the same run; the car park's plan of 2,000 spaces
    /// against its 50 ms target.
    Gates(gates::GatesArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let res = match cli.command {
        BenchCommand::Http(args) => http::run(args),
        BenchCommand::Audit(args) => audit::run(args),
        BenchCommand::Registry(args) => registry::registry(args),
        BenchCommand::Cases(args) => cases::run(args),
        BenchCommand::Cockpit(args) => cockpit::run(args),
        BenchCommand::Sensing(args) => sensing::run(args),
        BenchCommand::Jobs(args) => jobs::run(args),
        BenchCommand::Lists(args) => lists::run(args),
        BenchCommand::Pages(args) => pages::run(args),
        BenchCommand::Setup(args) => setup::run(args),
        BenchCommand::Notices(args) => notices::run(args),
        BenchCommand::Votes(args) => votes::run(args),
        BenchCommand::Eligibility(args) => eligibility::run(args),
        BenchCommand::Sweeps(args) => sweeps::run(args),
        BenchCommand::Reach(args) => reach::run(args),
        BenchCommand::Visits(args) => visits::run(args),
        BenchCommand::Surveys(args) => surveys::run(args),
        BenchCommand::Points(args) => points::run(args),
        BenchCommand::Sheets(args) => sheets::run(args),
        BenchCommand::Gates(args) => gates::run(args),
    };
    match res {
        Ok(code) => code,
        Err(e) => {
            eprintln!("linli-bench: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
