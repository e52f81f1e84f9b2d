//! The console in a real headless Chromium (Debian's `chromium` and its
//! `chromedriver`, driven over WebDriver), against the real binary: for each seed
//! product, sign in as its admin, invite, open the accept link from the outbox,
//! toggle a permission and see the check change, deactivate, find each step in
//! the audit timeline, and move the as-of slider before and after the change.
//! Screenshots of every page go to `target/console-screenshots/`.
//!
//! Skipped (with a line saying so) only when Chromium or its driver is not
//! installed; `scripts/test.sh` installs both.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use reqwest::StatusCode;
use rollcall_tests::server::OPERATOR_TOKEN;
use serde_json::{Value, json};

use crate::support::{Backend, Harness, invitation_token};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// The whole walk through the four products must end within this.
const WHOLE_TEST: Duration = Duration::from_secs(100);
/// Longest wait for one thing to show on the page.
const STEP: Duration = Duration::from_secs(15);

/// chromedriver, killed on drop.
struct Driver {
    child: Child,
    port: u16,
    _profile: tempfile::TempDir,
}

impl Drop for Driver {
    /// Kills chromedriver and every Chromium process it started (they share its
    /// process group), so a failed test leaves no browser behind.
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn screenshots_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/console-screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    dir
}

async fn start_browser() -> (Driver, Client) {
    let port = free_port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        // A group of its own, which Chromium joins: see `Driver::drop`.
        .process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let profile = tempfile::tempdir().expect("browser profile dir");
    let driver = Driver {
        child,
        port,
        _profile: profile,
    };
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".to_owned(),
        json!({
            "binary": CHROMIUM,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=1280,900",
                format!("--user-data-dir={}", driver._profile.path().display()),
            ],
        }),
    );
    let url = format!("http://127.0.0.1:{}", driver.port);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector)
            .capabilities(caps.clone())
            .connect(&url)
            .await
        {
            Ok(client) => return (driver, client),
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("no WebDriver session from chromedriver: {e}"),
        }
    }
}

/// One browser on one server, and where its pictures go.
struct Console {
    h: Harness,
    browser: Client,
    shots: PathBuf,
}

impl Console {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.h.server.url())
    }

    async fn open(&self, path: &str) {
        self.browser.goto(&self.url(path)).await.expect("navigate");
    }

    /// Waits for `css` to be on the page.
    async fn find(&self, css: &str) -> Element {
        match self
            .browser
            .wait()
            .at_most(STEP)
            .for_element(Locator::Css(css))
            .await
        {
            Ok(element) => element,
            Err(e) => panic!("{css} never showed: {e}; page: {}", self.page_text().await),
        }
    }

    async fn page_text(&self) -> String {
        match self.browser.find(Locator::Css("main")).await {
            Ok(main) => main.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    async fn click(&self, css: &str) {
        self.find(css).await.click().await.expect("click");
    }

    async fn type_into(&self, css: &str, text: &str) {
        let field = self.find(css).await;
        field.clear().await.expect("clear");
        field.send_keys(text).await.expect("type");
    }

    /// A screenshot of the page as it is scrolled now.
    async fn shot(&self, name: &str) {
        let png = self.browser.screenshot().await.expect("screenshot");
        std::fs::write(self.shots.join(format!("{name}.png")), png).expect("write screenshot");
    }

    /// A screenshot of the top of the page.
    async fn shot_top(&self, name: &str) {
        self.browser
            .execute(
                "window.scrollTo(0, 0); document.getElementById('toast').textContent = '';",
                vec![],
            )
            .await
            .expect("scroll");
        self.shot(name).await;
    }

    /// Waits until `css` holds text containing `text`.
    async fn wait_text(&self, css: &str, text: &str) {
        let deadline = Instant::now() + STEP;
        loop {
            if let Ok(el) = self.browser.find(Locator::Css(css)).await
                && el.text().await.unwrap_or_default().contains(text)
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{css} never said {text:?}; page: {}",
                self.page_text().await
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until `css` has `attr` = `value`.
    async fn wait_attr(&self, css: &str, attr: &str, value: &str) {
        let deadline = Instant::now() + STEP;
        loop {
            if let Ok(el) = self.browser.find(Locator::Css(css)).await
                && el.attr(attr).await.ok().flatten().as_deref() == Some(value)
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{css} never had {attr}={value:?}; page: {}",
                self.page_text().await
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn count(&self, css: &str) -> usize {
        self.browser
            .find_all(Locator::Css(css))
            .await
            .map(|v| v.len())
            .unwrap_or(0)
    }

    /// Signs in with a pasted member token and waits for the team list.
    async fn sign_in(&self, token: &str) {
        self.sign_in_until(token, "#members").await;
    }

    /// Signs in with a token whose member may not see the team list.
    async fn sign_in_anywhere(&self, token: &str) {
        self.sign_in_until(token, "#signout:not([hidden])").await;
    }

    /// Signs in with a pasted token, then waits for `ready` (a CSS selector).
    async fn sign_in_until(&self, token: &str, ready: &str) {
        // The previous product's admin must not linger in the tab.
        self.open("/console").await;
        self.browser
            .execute("sessionStorage.clear();", vec![])
            .await
            .expect("clear the session");
        self.open("/console?signin").await;
        self.type_into("#token", token).await;
        self.click("#signin").await;
        self.find(ready).await;
    }

    /// Runs the console's check for `permission` on the member page; answers
    /// whether the server allowed it.
    async fn check(&self, permission: &str) -> bool {
        let select = self.find("#check-permission").await;
        select
            .select_by_value(permission)
            .await
            .expect("pick the permission");
        self.click("#check-run").await;
        let deadline = Instant::now() + STEP;
        loop {
            if let Ok(el) = self.browser.find(Locator::Css("#check-result")).await
                && let Ok(Some(v)) = el.attr("data-allowed").await
            {
                return v == "true";
            }
            assert!(Instant::now() < deadline, "the check never answered");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// What differs between the products in the walk.
struct Product {
    catalog: &'static str,
    /// Role inputs to tick in the invite dialog.
    roles: &'static [&'static str],
    /// Permission boxes to tick in the invite dialog, over the role.
    extra: &'static [&'static str],
    /// The permission toggled off after acceptance.
    toggled: &'static str,
    /// The admin's token needs the MFA step-up (Jet Hub invites only with it).
    mfa: bool,
}

const PRODUCTS: [Product; 4] = [
    Product {
        catalog: "jtek",
        roles: &["user"],
        extra: &[],
        toggled: "contacts.delete",
        mfa: false,
    },
    Product {
        catalog: "jetbuilt",
        roles: &[],
        // Costs need Projects: View (a prerequisite the dialog shows).
        extra: &["projects.view", "costs.view"],
        toggled: "costs.view",
        mfa: false,
    },
    Product {
        catalog: "jobtracker",
        roles: &["estimator"],
        extra: &[],
        toggled: "jobs.delete",
        mfa: false,
    },
    Product {
        catalog: "jethub",
        roles: &["standard_user"],
        extra: &[],
        toggled: "service_names.edit",
        mfa: true,
    },
];

async fn walk(c: &Console, p: &Product) {
    let h = &c.h;
    let name = p.catalog;
    let (tenant, owner) = h.create_tenant(name, None).await;
    if name == "jobtracker" {
        // JobTracker's security roles are the account's own.
        let (status, answer) = h
            .post(
                &format!("/v1/tenants/{tenant}/roles"),
                OPERATOR_TOKEN,
                json!({"key": "estimator", "label": "Estimator", "grants": ["jobs.*", "quotes.*"]}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{answer}");
    }
    let admin = h.server.token(&tenant, &owner, None, p.mfa);

    if p.mfa {
        // Without the step-up the page says what is needed, and the server's
        // refusal is shown in its words.
        c.sign_in(&h.server.token(&tenant, &owner, None, false))
            .await;
        c.click("#nav a[data-page='invite']").await;
        c.wait_text("#mfa-note", "asks for an MFA authorisation")
            .await;
        c.type_into("#invite-email", "early@example.com").await;
        c.type_into("#invite-name", "Early").await;
        c.click("#invite-submit").await;
        c.find("#invite-result .error").await;
        let (status, refusal) = h
            .post(
                &format!("/v1/tenants/{tenant}/invitations"),
                &h.server.token(&tenant, &owner, None, false),
                json!({"email": "early@example.com", "display_name": "Early"}),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{refusal}");
        let detail = refusal["detail"].as_str().expect("detail");
        c.wait_text("#invite-result", detail).await;
        c.shot(&format!("{name}-0-mfa-refused")).await;
    }

    // Sign in as the admin.
    c.sign_in(&admin).await;
    c.shot(&format!("{name}-1-team")).await;

    // Invite, in the product's own vocabulary.
    c.click("#nav a[data-page='invite']").await;
    let email = format!("newcomer@{name}.example");
    c.type_into("#invite-email", &email).await;
    c.type_into("#invite-name", &format!("Nia {name}")).await;
    if p.roles.is_empty() {
        // Products whose permissions are switched on one by one.
        if c.count("#invite-role-none").await > 0 {
            c.click("#invite-role-none").await;
        }
    }
    for role in p.roles {
        c.click(&format!("#invite-role-{role}")).await;
    }
    for perm in p.extra {
        let selector = format!("input[data-perm='{perm}']");
        c.find(&selector).await;
        c.click(&selector).await;
    }
    c.shot(&format!("{name}-2-invite")).await;
    c.click("#invite-submit").await;
    c.wait_text("#invite-result", "Invitation sent").await;
    let link = c
        .find("#invite-result a")
        .await
        .attr("href")
        .await
        .expect("href")
        .expect("a link to the member");
    let user = link.rsplit('/').next().expect("user id").to_owned();

    // The invitee opens the link from the mail.
    let (status, member) = h
        .get(
            &format!("/v1/tenants/{tenant}/users/{user}"),
            OPERATOR_TOKEN,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{member}");
    let invitation = member["invitation_id"].as_str().expect("invitation id");
    let token = invitation_token(h.server.data_dir(), invitation, 1);
    c.open(&format!("/accept?token={token}")).await;
    c.find("#accept").await;
    // The token is gone from the address bar at once.
    let address = c.browser.current_url().await.expect("url");
    assert!(!address.as_str().contains(&token), "{address}");
    c.click("#accept").await;
    c.wait_text("#outcome", "you are now a member").await;
    c.shot(&format!("{name}-3-accepted")).await;

    if name == "jtek" {
        // The newcomer, signed in, sees her own page read-only, with the reason
        // the server's check gives for her lacking the team permission.
        c.sign_in_anywhere(&h.server.token(&tenant, &user, None, false))
            .await;
        c.open(&format!("/console#/member/{user}")).await;
        c.find("#member-title").await;
        let (_, verdict) = h
            .post(
                &format!("/v1/tenants/{tenant}/check"),
                OPERATOR_TOKEN,
                json!({"user_id": user, "permission": "team.manage", "resource": {}}),
            )
            .await;
        assert_eq!(verdict["allowed"], json!(false), "{verdict}");
        let reason = verdict["reason"].as_str().expect("reason");
        c.wait_text("#manage-reason", reason).await;
        let boxes = c
            .browser
            .find_all(Locator::Css("input[data-perm]"))
            .await
            .expect("boxes");
        assert!(!boxes.is_empty());
        for b in boxes {
            assert_eq!(
                b.attr("disabled").await.ok().flatten().as_deref(),
                Some("true")
            );
        }
        c.shot(&format!("{name}-3b-own-page")).await;
        c.sign_in(&admin).await;
    }

    // Toggle a permission off on the member page and see the check change.
    c.open(&format!("/console#/member/{user}")).await;
    c.find("#member-title").await;
    assert!(c.check(p.toggled).await, "{name}: {} before", p.toggled);
    c.click(&format!("input[data-perm='{}']", p.toggled)).await;
    c.wait_text("#toast", "off for").await;
    // The page re-reads the member at the command's position.
    let selector = format!("input[data-perm='{}']", p.toggled);
    let deadline = Instant::now() + STEP;
    while c.find(&selector).await.is_selected().await.unwrap_or(true) {
        assert!(Instant::now() < deadline, "{name}: the box stayed ticked");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!c.check(p.toggled).await, "{name}: {} after", p.toggled);
    c.find("#effective").await;
    // Her own history: invited, accepted, the toggle.
    for step in [
        "user.invited",
        "invitation.accepted",
        "user.permission_toggled",
    ] {
        c.find(&format!("#member-history li[data-type='{step}']"))
            .await;
    }
    c.shot(&format!("{name}-4-check")).await;
    c.shot_top(&format!("{name}-4-member")).await;

    // Deactivate from the team list.
    c.click("#nav a[data-page='team']").await;
    let row = format!("#members tr[data-email='{email}']");
    c.click(&format!("{row} button.deactivate")).await;
    c.type_into("#deactivate-reason", "left the company").await;
    if c.count("#reassign").await > 0 {
        // Jtek scopes contacts to their assignee: hand hers to the owner.
        let reassign = c.find("#reassign").await;
        let deadline = Instant::now() + STEP;
        while c.count(&format!("#reassign option[value='{owner}']")).await == 0 {
            assert!(Instant::now() < deadline, "{name}: no owner to reassign to");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        reassign.select_by_value(&owner).await.expect("reassign");
    }
    c.click("#deactivate-confirm").await;
    c.wait_attr(&row, "data-status", "deactivated").await;
    c.shot(&format!("{name}-5-deactivated")).await;

    // Every step is in the audit timeline, with the member's name.
    c.click("#nav a[data-page='audit']").await;
    for step in [
        "user.invited",
        "invitation.accepted",
        "user.permission_toggled",
        "user.deactivated",
    ] {
        let item = c
            .find(&format!(
                "#audit-list li[data-type='{step}'][data-target='{user}']"
            ))
            .await;
        let text = item.text().await.unwrap_or_default();
        assert!(text.contains(&format!("Nia {name}")), "{step}: {text}");
    }
    let deactivated = c
        .find("#audit-list li[data-type='user.deactivated']")
        .await
        .text()
        .await
        .unwrap_or_default();
    assert!(deactivated.contains("left the company"), "{deactivated}");
    c.shot_top(&format!("{name}-6-audit")).await;
    // Filtered to one kind of change, the timeline shows only that.
    c.find("#audit-type")
        .await
        .select_by_value("user.permission_toggled")
        .await
        .expect("filter");
    c.click("#audit-filter").await;
    c.wait_attr("#audit-list li", "data-type", "user.permission_toggled")
        .await;
    assert_eq!(
        c.count("#audit-list li").await,
        c.count("#audit-list li[data-type='user.permission_toggled']")
            .await,
        "{name}: the filter let other changes through"
    );

    // As of: the slider's last step is after the deactivation; one step back is
    // after the toggle, two steps back before it.
    c.click("#nav a[data-page='asof']").await;
    let slider = c.find("#asof-slider").await;
    let member_row = format!("#asof-table tr[data-member='{email}']");
    let holds = format!("{member_row} li[data-permission='{}']", p.toggled);
    c.find(&member_row).await;
    c.wait_attr(&member_row, "data-count", "0").await;
    slider.send_keys("\u{E012}").await.expect("arrow left"); // after the toggle
    let deadline = Instant::now() + STEP;
    loop {
        let count = c.count(&format!("{member_row}[data-count='0']")).await;
        if count == 0 && c.count(&member_row).await == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "{name}: as of after the toggle");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(c.count(&holds).await, 0, "{name}: after the toggle");
    let label = c.find("#asof-label").await.text().await.unwrap_or_default();
    assert!(label.contains("Permission changed"), "{label}");
    slider.send_keys("\u{E012}").await.expect("arrow left"); // before it
    c.find(&holds).await;
    c.shot(&format!("{name}-7-asof")).await;

    // The diff from the first instant to the last names the toggled permission
    // among what the newcomer lost.
    c.click("#diff-run").await;
    c.find(&format!("#diff-result li[data-user='{user}']"))
        .await;
    c.wait_text(
        &format!("#diff-result li[data-user='{user}']"),
        "deactivated",
    )
    .await;

    // The access review downloads as CSV.
    c.click("#review-csv").await;
    c.find("#review-csv-file").await;

    // Integrity: the chain verifies.
    c.click("#nav a[data-page='integrity']").await;
    c.wait_attr("#chain-status", "data-intact", "true").await;
    // The server signs heads every 300 ms here: a signed checkpoint shows, with
    // this installation's key.
    let deadline = Instant::now() + STEP;
    while c.count("#checkpoint-key").await == 0 {
        assert!(Instant::now() < deadline, "{name}: no signed checkpoint");
        tokio::time::sleep(Duration::from_millis(300)).await;
        c.browser.refresh().await.expect("reload");
        c.find("#chain-status").await;
    }
    c.wait_text("#checkpoint", "valid").await;
    c.wait_text("#installation-key", "yes").await;
    c.shot(&format!("{name}-8-integrity")).await;

    if name == "jetbuilt" {
        // On Lite, the always-on permissions are ticked and locked, and the
        // Enterprise-only ones cannot be switched on.
        let (status, answer) = h
            .put(
                &format!("/v1/tenants/{tenant}/plan"),
                &admin,
                json!({"plan": "lite"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        c.click("#nav a[data-page='invite']").await;
        let always = c.find("input[data-perm='projects.all']").await;
        assert!(always.is_selected().await.expect("ticked"));
        assert_eq!(
            always.attr("disabled").await.ok().flatten().as_deref(),
            Some("true")
        );
        c.wait_text("#perm-projects-all-why", "Always on for Lite")
            .await;
        c.wait_text("#perm-reports-run-why", "Not available on Lite")
            .await;
        c.wait_text("#perm-costs-view-why", "Needs Projects: View Projects")
            .await;
        c.shot_top(&format!("{name}-9-lite-invite")).await;
    }

    if name == "jtek" {
        // A pending invitation: Resend mails a new link, Cancel withdraws it.
        let (second, invitation) = h
            .invite(
                &tenant,
                &admin,
                "second@jtek.example",
                json!({"roles": ["user"]}),
            )
            .await;
        c.open("/console#/team?status=invited").await;
        let row = format!("#members tr[data-user='{second}']");
        c.find(&row).await;
        c.find("#status-filter").await;
        c.click(&format!("{row} button.resend")).await;
        c.wait_text("#toast", "sent again").await;
        invitation_token(h.server.data_dir(), &invitation, 2);
        c.click(&format!("{row} button.cancel")).await;
        c.wait_text("#toast", "canceled").await;
        c.open("/console#/team?status=canceled").await;
        c.wait_attr(&row, "data-status", "canceled").await;

        // Reactivate brings the deactivated newcomer back.
        c.open("/console#/team?status=deactivated").await;
        let nia = format!("#members tr[data-user='{user}']");
        c.click(&format!("{nia} button.reactivate")).await;
        c.wait_text("#toast", "active again").await;
        c.open("/console#/team?status=active").await;
        c.wait_attr(&nia, "data-status", "active").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_runs_each_seed_product_in_a_real_browser() {
    if !Path::new(CHROMIUM).exists() || !Path::new(CHROMEDRIVER).exists() {
        println!(
            "SKIPPED console browser test: {CHROMIUM} or {CHROMEDRIVER} is missing \
             (apt-get install chromium chromium-driver; scripts/test.sh does)"
        );
        return;
    }
    let started = Instant::now();
    let outcome = tokio::time::timeout(WHOLE_TEST, async {
        let h = Harness::start_with_env(
            Backend::Embedded,
            vec![(
                "ROLLCALL_CHECKPOINT_INTERVAL_MS".to_owned(),
                "300".to_owned(),
            )],
        );
        let (_driver, browser) = start_browser().await;
        let c = Console {
            h,
            browser,
            shots: screenshots_dir(),
        };
        for product in &PRODUCTS {
            let walked = Instant::now();
            walk(&c, product).await;
            println!(
                "console: {} walked in {:?}",
                product.catalog,
                walked.elapsed()
            );
        }
        // The team page at a phone's width.
        c.browser
            .set_window_size(390, 844)
            .await
            .expect("narrow window");
        for (page, ready) in [
            ("team", "#members"),
            ("invite", "#permissions"),
            ("audit", "#audit-list li"),
            ("asof", "#asof-table"),
            ("integrity", "#chain-status"),
        ] {
            c.click(&format!("#nav a[data-page='{page}']")).await;
            c.find(ready).await;
            c.shot_top(&format!("narrow-{page}")).await;
            let width: Value = c
                .browser
                .execute("return document.documentElement.scrollWidth;", vec![])
                .await
                .expect("width");
            assert!(
                width.as_u64().is_some_and(|w| w <= 390),
                "{page} scrolls sideways at 390 px: {width}"
            );
        }
        let _ = c.browser.clone().close().await;
    })
    .await;
    assert!(
        outcome.is_ok(),
        "the console walk took longer than {WHOLE_TEST:?}"
    );
    println!("console browser test took {:?}", started.elapsed());
}
