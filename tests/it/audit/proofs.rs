//! The Merkle tree's proofs and signed heads, checked by an independent verifier; tampering found and named.

use super::*;

fn h_leaf(data: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}
fn h_node(l: &[u8; 32], r: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(l);
    h.update(r);
    h.finalize().into()
}
pub(super) fn d(s: &str) -> [u8; 32] {
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .unwrap()
        .try_into()
        .unwrap()
}

/// RFC 9162 §2.1.3.2, written again here from the RFC's text.
fn check_inclusion(
    index: u64,
    size: u64,
    leaf: [u8; 32],
    path: &[[u8; 32]],
    root: [u8; 32],
) -> bool {
    if index >= size {
        return false;
    }
    let mut f = index;
    let mut s = size - 1;
    let mut r = leaf;
    for p in path {
        if s == 0 {
            return false;
        }
        if f % 2 == 1 || f == s {
            r = h_node(p, &r);
            while f.is_multiple_of(2) && f != 0 {
                f /= 2;
                s /= 2;
            }
        } else {
            r = h_node(&r, p);
        }
        f /= 2;
        s /= 2;
    }
    s == 0 && r == root
}

/// RFC 9162 §2.1.4.2.
fn check_consistency(
    first: u64,
    second: u64,
    proof: &[[u8; 32]],
    first_hash: [u8; 32],
    second_hash: [u8; 32],
) -> bool {
    if first == second {
        return proof.is_empty() && first_hash == second_hash;
    }
    if proof.is_empty() {
        return false;
    }
    let mut p = proof.to_vec();
    if first & (first - 1) == 0 {
        p.insert(0, first_hash);
    }
    let mut f = first - 1;
    let mut s = second - 1;
    while f % 2 == 1 {
        f /= 2;
        s /= 2;
    }
    let mut fr = p[0];
    let mut sr = p[0];
    for c in &p[1..] {
        if s == 0 {
            return false;
        }
        if f % 2 == 1 || f == s {
            fr = h_node(c, &fr);
            sr = h_node(c, &sr);
            while f.is_multiple_of(2) && f != 0 {
                f /= 2;
                s /= 2;
            }
        } else {
            sr = h_node(&sr, c);
        }
        f /= 2;
        s /= 2;
    }
    s == 0 && fr == first_hash && sr == second_hash
}

async fn make_entries(app: &TestApp, n: usize) {
    let tok = app.token("admin").await;
    let (_, list) = app.get_json(&tok, "/api/v1/places?kind=unit&limit=1").await;
    let _ = list;
    let hs = app
        .db
        .read(|c| c.query("SELECT id FROM households ORDER BY id LIMIT 40", &[]))
        .await
        .unwrap();
    for i in 0..n {
        let id = hs[i % hs.len()].i64(0);
        app.get_json(&tok, &format!("/api/v1/households/{id}"))
            .await;
    }
}

/// Issue 18, finding 4: fifty anonymous reads of the checkpoint signed fifty heads.
#[tokio::test]
async fn the_public_checkpoint_signs_no_head() {
    let app = support::spawn().await;
    make_entries(&app, 3).await;
    app.state.audit.sign_head().await.unwrap();
    let count = || async {
        app.db
            .read(|c| c.query_i64("SELECT COUNT(*) FROM audit_heads", &[]))
            .await
            .unwrap()
    };
    let before = count().await;
    let c = app.client();
    let tok = app.token("admin").await;
    let h = app
        .db
        .read(|c| c.query_i64("SELECT MIN(id) FROM households", &[]))
        .await
        .unwrap();
    let size = || async { app.db.read(linli::audit::size).await.unwrap() };
    let first = size().await;
    for _ in 0..50 {
        // The log grows between reads (a household read is audited), so a read that signed
        // would make a new head each time.
        app.get_json(&tok, &format!("/api/v1/households/{h}")).await;
        let r = c
            .get(app.url("/api/v1/audit/checkpoint"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    assert!(size().await >= first + 50, "the log grew with each read");
    assert_eq!(count().await, before, "reading the checkpoint signed heads");
}

#[tokio::test]
async fn proofs_check_with_an_independent_verifier() {
    let app = support::spawn().await;
    make_entries(&app, 9).await;
    let c = app.client();
    // The signer job's part: a head over the log as it is.
    app.state.audit.sign_head().await.unwrap();
    let cp1 = c
        .get(app.url("/api/v1/audit/checkpoint"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    make_entries(&app, 14).await;
    app.state.audit.sign_head().await.unwrap();
    let cp2 = c
        .get(app.url("/api/v1/audit/checkpoint"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // Checkpoint text: origin, size, root, time, blank, signature line, public key.
    let parse = |cp: &str| -> (u64, [u8; 32], i64, Vec<u8>, Vec<u8>) {
        let lines: Vec<&str> = cp.lines().collect();
        assert_eq!(lines[0], "linli audit log");
        let size: u64 = lines[1].parse().unwrap();
        let root = d(lines[2]);
        let at: i64 = lines[3].parse().unwrap();
        let sig = base64::engine::general_purpose::STANDARD
            .decode(lines[5].rsplit(' ').next().unwrap())
            .unwrap();
        let key = base64::engine::general_purpose::STANDARD
            .decode(lines[6].trim_start_matches("public key: "))
            .unwrap();
        (size, root, at, sig, key)
    };
    let (s1, r1, at1, sig1, key) = parse(&cp1);
    let (s2, r2, _, _, key2) = parse(&cp2);
    assert_eq!(key, key2);
    assert!(s2 > s1 && s1 > 0);
    // The signature covers the head message.
    let msg = format!(
        "linli audit log tree head v1\n{s1}\n{}\n{at1}\n",
        base64::engine::general_purpose::STANDARD.encode(r1)
    );
    let vk = ed25519_dalek::VerifyingKey::from_bytes(&key.try_into().unwrap()).unwrap();
    let sig = ed25519_dalek::Signature::from_slice(&sig1).unwrap();
    assert!(ed25519_dalek::Verifier::verify(&vk, msg.as_bytes(), &sig).is_ok());
    // Every entry's inclusion in the second head, against the leaf recomputed from its body.
    let admin = app.token("admin").await;
    for i in 0..s2 {
        let (_, e) = app
            .get_json(&admin, &format!("/api/v1/audit/entries/{i}"))
            .await;
        let leaf = h_leaf(e["body"].as_str().unwrap().as_bytes());
        let (s, p) = app
            .get_json(
                &admin,
                &format!("/api/v1/audit/proof/inclusion?entry={i}&size={s2}"),
            )
            .await;
        assert_eq!(s, 200);
        let path: Vec<[u8; 32]> = p["proof"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| d(x.as_str().unwrap()))
            .collect();
        assert!(check_inclusion(i, s2, leaf, &path, r2), "entry {i}");
        assert!(!check_inclusion(i, s2, h_leaf(b"forged"), &path, r2));
    }
    // The second head extends the first.
    let (_, p) = app
        .get_json(
            &admin,
            &format!("/api/v1/audit/proof/consistency?from={s1}&to={s2}"),
        )
        .await;
    let proof: Vec<[u8; 32]> = p["proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| d(x.as_str().unwrap()))
        .collect();
    assert!(check_consistency(s1, s2, &proof, r1, r2));
    assert!(!check_consistency(s1, s2, &proof, h_leaf(b"x"), r2));
    // Bad sizes are refused with a message.
    let (s, v) = app
        .get_json(
            &admin,
            &format!("/api/v1/audit/proof/inclusion?entry=0&size={}", s2 + 1000),
        )
        .await;
    assert_eq!(s, 400, "{v}");
}

fn linli_audit(app: &TestApp, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_linli"))
        .arg("--data")
        .arg(app.dir.path())
        .arg("--database-url")
        .arg(&app.database_url)
        .arg("audit")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[tokio::test]
async fn verify_names_what_was_tampered() {
    // Each kind of tampering, on a log of its own.
    type Tamper = &'static str;
    let cases: [(&str, Tamper, &str); 5] = [
        (
            "edit",
            "UPDATE audit_entries SET body = REPLACE(body, '\"read\"', '\"list\"') WHERE seq = 5",
            "entry 5 was edited",
        ),
        (
            "delete",
            "DELETE FROM audit_entries WHERE seq = 7",
            "entry 7 is missing",
        ),
        (
            "insert",
            "UPDATE audit_entries SET seq = seq + 100 WHERE seq >= 4",
            "entry 4 is missing",
        ),
        (
            "reorder",
            "UPDATE audit_entries SET body = (SELECT body FROM audit_entries WHERE seq = 3), leaf_hash = (SELECT leaf_hash FROM audit_entries WHERE seq = 3) WHERE seq = 2",
            "entry 2 holds the content of entry 3",
        ),
        (
            "truncate",
            "DELETE FROM audit_entries WHERE seq >= 10",
            "removed",
        ),
    ];
    for (what, sql, expect) in cases {
        let app = support::spawn().await;
        make_entries(&app, 12).await;
        let (ok, out) = linli_audit(&app, &["checkpoint"]);
        assert!(ok, "{out}");
        let (ok, out) = linli_audit(&app, &["verify"]);
        assert!(ok, "clean log verifies: {out}");
        assert!(out.contains("audit log OK"));
        app.db.write(move |c| c.batch(sql)).await.unwrap();
        let (ok, out) = linli_audit(&app, &["verify"]);
        assert!(!ok, "{what} must fail verification");
        assert!(out.contains(expect), "{what}: {out}");
    }
    // Rewriting an entry together with its stored hash is caught by the signed head.
    let app = support::spawn().await;
    make_entries(&app, 12).await;
    linli_audit(&app, &["checkpoint"]);
    let row = app
        .db
        .read(|c| c.query_one("SELECT body FROM audit_entries WHERE seq = 6", &[]))
        .await
        .unwrap();
    let forged = row.str(0).replace("\"read\"", "\"list\"");
    let leaf = h_leaf(forged.as_bytes()).to_vec();
    app.db
        .write(move |c| {
            c.exec(
                "UPDATE audit_entries SET body = $1, leaf_hash = $2 WHERE seq = 6",
                linli::params![forged, leaf],
            )
        })
        .await
        .unwrap();
    let (ok, out) = linli_audit(&app, &["verify"]);
    assert!(!ok);
    assert!(out.contains("tree head at size"), "{out}");
    // A forged head signature is named too.
    app.db
        .write(|c| c.exec("UPDATE audit_heads SET at = at + 1", &[]))
        .await
        .unwrap();
    let (ok, out) = linli_audit(&app, &["verify"]);
    assert!(!ok && out.contains("bad signature"), "{out}");
}

#[tokio::test]
async fn cli_prove_matches_the_api() {
    let app = support::spawn().await;
    make_entries(&app, 6).await;
    let (ok, cp) = linli_audit(&app, &["checkpoint"]);
    assert!(ok, "{cp}");
    let (ok, out) = linli_audit(&app, &["prove", "--entry", "2"]);
    assert!(ok, "{out}");
    let size: u64 = cp.lines().nth(1).unwrap().parse().unwrap();
    let admin = app.token("admin").await;
    let (_, p) = app
        .get_json(
            &admin,
            &format!("/api/v1/audit/proof/inclusion?entry=2&size={size}"),
        )
        .await;
    for h in p["proof"].as_array().unwrap() {
        assert!(out.contains(h.as_str().unwrap()));
    }
    let (ok, out) = linli_audit(&app, &["prove", "--from", "3", "--to", &size.to_string()]);
    assert!(ok && out.starts_with("consistency proof"), "{out}");
    let (ok, out) = linli_audit(&app, &["prove", "--entry", "99999"]);
    assert!(!ok && out.contains("not in a tree"), "{out}");
}
