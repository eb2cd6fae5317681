//! The binary as a person runs it: one-line errors, migrations, accounts, graceful shutdown.

use std::process::{Command, Stdio};

fn linli() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_linli"));
    c.env_remove("LINLI_DATABASE_URL")
        .env_remove("LINLI_DATA")
        .env_remove("LINLI_LISTEN");
    c
}

fn one_line_failure(out: &std::process::Output) -> String {
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("linli:")).collect();
    assert_eq!(lines.len(), 1, "one line: {err}");
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "{err}"
    );
    err
}

#[test]
fn version() {
    let out = linli().arg("--version").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("linli "));
}

#[test]
fn bad_inputs_end_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let out = linli()
        .args(["--data", d, "--database-url", "mysql://x/y", "migrate"])
        .output()
        .unwrap();
    assert!(one_line_failure(&out).contains("mysql"));
    let out = linli()
        .args([
            "--data",
            d,
            "--database-url",
            "postgres://nobody@127.0.0.1:1/none",
            "migrate",
        ])
        .output()
        .unwrap();
    assert!(one_line_failure(&out).contains("PostgreSQL"));
    let out = linli()
        .args(["--data", "/proc/linli-cannot-be-here", "migrate"])
        .output()
        .unwrap();
    assert!(one_line_failure(&out).contains("data folder"));
    let out = linli()
        .args(["--data", d, "--listen", "not-an-address", "serve"])
        .output()
        .unwrap();
    assert!(one_line_failure(&out).contains("listen"));
    // A port in use.
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = busy.local_addr().unwrap().to_string();
    let out = linli()
        .args(["--data", d, "--listen", &addr, "serve"])
        .output()
        .unwrap();
    assert!(one_line_failure(&out).contains("cannot listen"));
    let out = linli()
        .args(["--data", d, "demo", "--size", "huge"])
        .output()
        .unwrap();
    assert!(one_line_failure(&out).contains("huge"));
}

#[test]
fn migrate_and_user_add() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let out = linli().args(["--data", d, "migrate"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.path().join("linli.db").exists());
    // Twice is harmless.
    assert!(
        linli()
            .args(["--data", d, "migrate"])
            .output()
            .unwrap()
            .status
            .success()
    );
    // No place yet: a clear refusal.
    let out = linli()
        .args([
            "--data",
            d,
            "user",
            "add",
            "boss",
            "--role",
            "street_admin",
            "--place",
            "310115/1",
        ])
        .output()
        .unwrap();
    assert!(one_line_failure(&out).contains("no place"));
    // A key file only the owner can read.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("keys/field.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn demo_prints_ready_line_and_stops_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let mut child = linli()
        .args([
            "--data",
            d,
            "--listen",
            "127.0.0.1:0",
            "demo",
            "--size",
            "small",
            "--seed",
            "3",
            "--password",
            "pw-for-tests",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut lines = Vec::new();
    use std::io::BufRead;
    loop {
        let mut l = String::new();
        if out.read_line(&mut l).unwrap() == 0 {
            break;
        }
        let last = l.contains("jumin");
        lines.push(l);
        if last {
            break;
        }
    }
    assert!(
        lines[0].starts_with("linli listening on http://127.0.0.1:"),
        "{lines:?}"
    );
    let text = lines.join("");
    for name in [
        "admin", "shegong", "wangge", "bumen", "wuye", "zhiyuan", "jumin",
    ] {
        assert!(text.contains(name), "{name} in the account table");
    }
    let addr = lines[0]
        .trim()
        .rsplit("http://")
        .next()
        .unwrap()
        .to_string();
    let body = http_get(&addr, "/healthz");
    assert!(body.ends_with("ok"), "{body}");
    // SIGTERM: stop accepting, finish, exit 0.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let status = child.wait().unwrap();
    assert!(status.success(), "graceful exit: {status:?}");
    // Reusing the same folder keeps the data and resets the passwords.
    let out = linli()
        .args([
            "--data",
            d,
            "--listen",
            "127.0.0.1:0",
            "demo",
            "--size",
            "street",
        ])
        .output()
        .unwrap();
    assert!(
        one_line_failure(&out).contains("small"),
        "a different demo size is refused"
    );
}

fn http_get(addr: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut buf = String::new();
    s.read_to_string(&mut buf).unwrap();
    buf
}
