//! Her own account in a browser (issue 21 part 4): a resident on a phone finds "我的账户" from
//! her access log, a wrong current password is refused on the page with her input kept out of
//! it, the right one changes it and ends her session, and the new password signs her in.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resident_changes_her_password_on_a_phone() {
    browse(390, 844, |b| async move {
        b.open("/login").await;
        b.sign_in_ok("jumin").await;
        b.open("/me/access-log").await;
        let link = b.find("#access-account").await;
        b.follow(&link).await;
        b.wait_path("her account", |p| p == "/me/account").await;
        b.find("#account-password").await;
        b.assert_fits("her account").await;
        b.screenshot("account-phone").await;

        let fill = |current: &'static str, new: &'static str| {
            let b = &b;
            async move {
                for (name, value) in [("current", current), ("new", new), ("again", new)] {
                    let f = b
                        .find(&format!("#account-password input[name={name}]"))
                        .await;
                    f.clear().await.expect("clear");
                    f.send_keys(value).await.expect("type");
                }
                b.click("#account-password-submit").await;
            }
        };
        // A wrong current password: refused on her page, in her language.
        fill("not-my-password", "Neue-Wohnung-2026!").await;
        b.find("#account-error").await;
        assert_eq!(b.path().await, "/me/account/password");
        let error = b.text("#account-error").await;
        assert!(!error.is_empty() && !error.contains("account."), "{error}");

        // The right one: her sessions end, and the new password signs her in.
        b.open("/me/account").await;
        fill(PASSWORD, "Neue-Wohnung-2026!").await;
        b.wait_path("the sign-in page", |p| p.starts_with("/login"))
            .await;
        b.find("#login-form").await;
        let said = b.text(".flash").await;
        assert!(said.contains("密码已更改"), "{said}");
        b.open("/me/account").await;
        b.wait_path("signed out", |p| p.starts_with("/login")).await;
        b.sign_in("jumin", PASSWORD).await;
        b.find("#login-form").await;
        let at = b.path().await;
        assert!(
            at.starts_with("/login"),
            "the old password no longer works: {at}"
        );
        // The new one signs her in, back where she was going.
        b.sign_in("jumin", "Neue-Wohnung-2026!").await;
        b.wait_path("her account again", |p| p == "/me/account")
            .await;
        b.find("#account-password").await;
    })
    .await;
}
