//! `linli-bench surveys`: a survey put to a street and answered (issue 22 part 2). The issue
//! sets no figure of its own for surveys; the targets here are those of its siblings: freezing
//! the recipients of a survey to 40,000 residents < 2 s (as publishing a notice), one answer
//! sheet stored < 50 ms p99 (as a ballot), and a survey's results over 5,000 sheets < 200 ms
//! p99 (as counting a 5,000-owner vote).
//!
//! On a fresh database (SQLite in a temporary folder, or `--pg URL`): one survey of four
//! questions (single, multiple, scale, text), `--recipients` recipients frozen through the
//! store's publishing path, `--sheets` sheets stored one transaction each through the store's
//! answer path (every third anonymous shape: no person), then the reads the results page makes,
//! `--rounds` times. Baselines in the same run: an empty write transaction (against a sheet)
//! and one `COUNT(*)` of the survey's answers (against the results).
//!
//! ```text
//! ./target/release/linli-bench surveys [--recipients 40000] [--sheets 5000] [--rounds 50] [--pg URL]
//! ```

use super::*;

use linli::notices::Audience;
use linli::store::{Db, Val};
use linli::surveys::model::{Kind, Question, QuestionKind, Row};
use linli::surveys::store as sstore;

#[derive(Args, Debug, Clone)]
pub struct SurveysArgs {
    /// Recipients the survey is put to.
    #[arg(long, default_value_t = 40_000)]
    recipients: usize,
    /// Answer sheets stored.
    #[arg(long, default_value_t = 5_000)]
    sheets: usize,
    /// Times the results are read.
    #[arg(long, default_value_t = 50)]
    rounds: usize,
    /// Measure on this PostgreSQL database instead of a temporary SQLite file.
    #[arg(long)]
    pg: Option<String>,
}

const PUBLISH_TARGET_MS: f64 = 2_000.0;
const SHEET_TARGET_MS: f64 = 50.0;
const RESULTS_TARGET_MS: f64 = 200.0;

fn pct(mut v: Vec<f64>, q: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() as f64 * q).ceil() as usize)
        .saturating_sub(1)
        .min(v.len() - 1)]
}

fn verdict(p: f64, target: f64) -> &'static str {
    if p < target { "PASS" } else { "FAIL" }
}

pub fn run(args: SurveysArgs) -> Result<ExitCode> {
    let dir = std::env::temp_dir().join(format!(
        "linli-bench-surveys-{}-{}",
        std::process::id(),
        linli::store::now_ms()
    ));
    std::fs::create_dir_all(&dir)?;
    let url = match &args.pg {
        Some(u) => u.clone(),
        None => format!("sqlite://{}", dir.join("bench.db").display()),
    };
    let db = Db::open(&url).map_err(|e| anyhow!("{e}"))?;
    db.migrate_blocking().map_err(|e| anyhow!("{e}"))?;
    let now = linli::store::now_ms();
    let questions = vec![
        Question {
            kind: QuestionKind::Single,
            prompt: "是否赞成".into(),
            options: vec!["赞成".into(), "反对".into()],
            required: true,
        },
        Question {
            kind: QuestionKind::Multiple,
            prompt: "方便的时间".into(),
            options: vec!["上午".into(), "下午".into(), "晚上".into()],
            required: false,
        },
        Question {
            kind: QuestionKind::Scale,
            prompt: "满意度".into(),
            options: Vec::new(),
            required: true,
        },
        Question {
            kind: QuestionKind::Text,
            prompt: "意见".into(),
            options: Vec::new(),
            required: false,
        },
    ];
    let path = format!("bench-surveys-{now}");
    let (street, id) = db
        .write_blocking(|c| {
            let street = c.query_i64(
                "INSERT INTO places (street_id, parent_id, kind, code, name, path, depth, created_at) \
                 VALUES (NULL, NULL, 'street', 'bench', '测试街道', $1, 1, $2) RETURNING id",
                &[Val::Text(path.clone()), Val::Int(now)],
            )?;
            let id = sstore::insert(
                c,
                &sstore::NewSurvey {
                    street_id: street,
                    kind: Kind::General,
                    title: "测试问卷",
                    intro: "",
                    questions: &questions,
                    audience: &Audience {
                        places: vec![street],
                        ..Audience::default()
                    },
                    audience_label: "测试街道",
                    place_path: &path,
                    anonymous: false,
                    opens_at: None,
                    closes_at: now + 86_400_000,
                    author_id: 1,
                    author: "bench",
                    author_path: &path,
                    now,
                },
            )?;
            Ok((street, id))
        })
        .map_err(|e| anyhow!("{e}"))?;

    let recipients: Vec<sstore::Recipient> = (0..args.recipients)
        .map(|i| sstore::Recipient {
            person_id: Some(1_000_000 + i as i64),
            user_id: None,
            place_path: format!("{path}/{}", i / 200),
        })
        .collect();
    let t = Instant::now();
    db.write_blocking(|c| sstore::publish(c, id, street, &recipients, now))
        .map_err(|e| anyhow!("{e}"))?;
    let publish_ms = t.elapsed().as_secs_f64() * 1000.0;
    println!(
        "publish to {} recipients: {publish_ms:.0} ms (target < {PUBLISH_TARGET_MS} ms): {}",
        args.recipients,
        verdict(publish_ms, PUBLISH_TARGET_MS)
    );

    let sheets = args.sheets.min(args.recipients);
    let mut empty = Vec::with_capacity(sheets.min(500));
    for _ in 0..sheets.min(500) {
        let t = Instant::now();
        db.write_blocking(|c| c.query_i64("SELECT 1", &[]))
            .map_err(|e| anyhow!("{e}"))?;
        empty.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let mut times = Vec::with_capacity(sheets);
    for i in 0..sheets {
        let k = i as i64;
        let mut rows: Vec<Row> = vec![
            (0, Some(k % 2), None, None),
            (1, Some(k % 3), None, None),
            (2, None, Some(1 + k % 5), None),
        ];
        if i % 4 == 0 {
            rows.push((3, None, None, Some(format!("意见 {i}"))));
        }
        let who = (i % 3 != 0).then_some((Some(1_000_000 + k), None));
        let t = Instant::now();
        db.write_blocking(|c| {
            sstore::answer(
                c,
                &sstore::Sheet {
                    survey_id: id,
                    street_id: street,
                    seq: k + 1,
                    user_id: Some(10_000_000 + k),
                    who,
                    rows: &rows,
                    now: now + k,
                },
            )
        })
        .map_err(|e| anyhow!("{e}"))?;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let p = pct(times.clone(), 0.99);
    println!(
        "answer sheet ({sheets} stored, one transaction each): p50 {:.2} ms, p99 {p:.2} ms; \
         baseline empty write p50 {:.2} ms (target < {SHEET_TARGET_MS} ms): {}",
        pct(times, 0.5),
        pct(empty, 0.5),
        verdict(p, SHEET_TARGET_MS)
    );

    let mut base = Vec::with_capacity(args.rounds);
    let mut reads = Vec::with_capacity(args.rounds);
    let mut last = (0, 0);
    for _ in 0..args.rounds.max(1) {
        let t = Instant::now();
        db.read_blocking(|c| {
            c.query_i64(
                "SELECT COUNT(*) FROM survey_answers WHERE survey_id = $1",
                &[Val::Int(id)],
            )
        })
        .map_err(|e| anyhow!("{e}"))?;
        base.push(t.elapsed().as_secs_f64() * 1000.0);
        let t = Instant::now();
        let (responses, texts) = db
            .read_blocking(|c| {
                let r = sstore::responses(c, id)?;
                sstore::choice_counts(c, id)?;
                sstore::value_counts(c, id)?;
                sstore::answer_counts(c, id)?;
                let texts = sstore::texts(c, id, linli::surveys::service::TEXTS_LIMIT)?;
                Ok((r, texts.len()))
            })
            .map_err(|e| anyhow!("{e}"))?;
        reads.push(t.elapsed().as_secs_f64() * 1000.0);
        last = (responses, texts);
    }
    let p = pct(reads.clone(), 0.99);
    println!(
        "results of {} sheets ({} texts): p50 {:.1} ms, p99 {p:.1} ms; baseline COUNT(*) p50 {:.1} ms \
         (target < {RESULTS_TARGET_MS} ms): {}",
        last.0,
        last.1,
        pct(reads, 0.5),
        pct(base, 0.5),
        verdict(p, RESULTS_TARGET_MS)
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(ExitCode::SUCCESS)
}
