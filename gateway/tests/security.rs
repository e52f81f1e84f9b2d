//! The server's own defences, through the mounted router: one generic 401,
//! token lifetime and claims, scopes on every kind of route, input limits,
//! command rates, the metrics, CSV that cannot run formulas, and no state kept
//! for tenants that do not exist.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::{Method, StatusCode};
use common::*;
use rollcall_gateway::auth::{Claims, TokenPolicy};
use rollcall_gateway::http::HttpConfig;
use rollcall_gateway::limits::RateLimit;
use serde_json::json;

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn sign(claims: &Claims) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(JWT_SECRET.as_bytes()),
    )
    .unwrap()
}

fn claims(t: &Tenant, user: rollcall_events::UserId) -> Claims {
    Claims {
        sub: user.to_string(),
        tid: t.id.to_string(),
        exp: now() + 600,
        iat: Some(now()),
        nbf: None,
        iss: None,
        aud: None,
        amr: vec![],
        scope: None,
    }
}

fn harness(config: HttpConfig) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let log = rollcall_log::EmbeddedLog::open(&dir.path().join("log")).unwrap();
    Harness::with_config(std::sync::Arc::new(log), dir, config)
}

#[tokio::test]
async fn every_refused_credential_gets_the_same_401_without_the_log_position() {
    let h = Harness::embedded();
    let t = h.tenant(json!("jtek")).await;
    let ann = h.member(t.id, "ann@acme.test", &["user"]).await;
    let users = format!("/v1/tenants/{}/users/{ann}", t.id);
    let ann_token = h.jwt(t.id, ann, None, false);
    h.send(
        Method::POST,
        &format!("{users}/deactivate"),
        Some(OPERATOR),
        None,
    )
    .await
    .expect(StatusCode::OK);
    let expired = sign(&Claims {
        exp: 1_000,
        iat: Some(900),
        ..claims(&t, t.owner)
    });
    let stranger = h.jwt(t.id, rollcall_events::UserId::from_u128(9), None, false);
    let mut bodies = Vec::new();
    for token in [
        None,
        Some("garbage"),
        Some(expired.as_str()),
        Some(ann_token.as_str()),
        Some(stranger.as_str()),
    ] {
        let answer = h.send(Method::GET, &users, token, None).await;
        assert_eq!(
            answer.status,
            StatusCode::UNAUTHORIZED,
            "{token:?}: {:?}",
            answer.body
        );
        assert!(!answer.headers.contains_key("x-rollcall-position"));
        assert_eq!(answer.headers["www-authenticate"], "Bearer");
        bodies.push(answer.body);
    }
    assert!(bodies.windows(2).all(|w| w[0] == w[1]), "{bodies:?}");
    insta::assert_json_snapshot!("unauthorized", bodies[0]);
}

#[tokio::test]
async fn tokens_must_not_outlive_the_policy_nor_start_in_the_future() {
    let h = harness(HttpConfig {
        tokens: TokenPolicy {
            max_lifetime: Duration::from_secs(3600),
            ..TokenPolicy::default()
        },
        ..HttpConfig::default()
    });
    let t = h.tenant(json!("jtek")).await;
    let path = format!("/v1/tenants/{}/users?min_position={}", t.id, t.position);
    let ok = sign(&claims(&t, t.owner));
    h.get(&path, &ok).await.expect(StatusCode::OK);
    for bad in [
        // Lives two hours.
        Claims {
            exp: now() + 7200,
            ..claims(&t, t.owner)
        },
        // No iat: judged from now, still two hours.
        Claims {
            exp: now() + 7200,
            iat: None,
            ..claims(&t, t.owner)
        },
        // Not valid yet.
        Claims {
            nbf: Some(now() + 600),
            ..claims(&t, t.owner)
        },
        // Issued in the future.
        Claims {
            iat: Some(now() + 600),
            exp: now() + 900,
            ..claims(&t, t.owner)
        },
    ] {
        h.get(&path, &sign(&bad))
            .await
            .problem(StatusCode::UNAUTHORIZED, "unauthorized");
    }
}

#[tokio::test]
async fn a_configured_issuer_and_audience_are_required() {
    let h = harness(HttpConfig {
        tokens: TokenPolicy {
            issuer: Some("https://id.acme.test".into()),
            audience: Some("rollcall".into()),
            ..TokenPolicy::default()
        },
        ..HttpConfig::default()
    });
    let t = h.tenant(json!("jtek")).await;
    let path = format!("/v1/tenants/{}/users?min_position={}", t.id, t.position);
    let right = Claims {
        iss: Some("https://id.acme.test".into()),
        aud: Some("rollcall".into()),
        ..claims(&t, t.owner)
    };
    h.get(&path, &sign(&right)).await.expect(StatusCode::OK);
    for wrong in [
        Claims {
            iss: None,
            ..right.clone()
        },
        Claims {
            iss: Some("https://evil.test".into()),
            ..right.clone()
        },
        Claims {
            aud: None,
            ..right.clone()
        },
        Claims {
            aud: Some("other".into()),
            ..right.clone()
        },
    ] {
        h.get(&path, &sign(&wrong))
            .await
            .problem(StatusCode::UNAUTHORIZED, "unauthorized");
    }
}

#[tokio::test]
async fn a_scope_narrows_every_kind_of_route_and_names_what_it_lacks() {
    let h = Harness::embedded();
    let t = h.tenant(json!("jtek")).await;
    let ann = h.member(t.id, "ann@acme.test", &["user"]).await;
    let base = format!("/v1/tenants/{}", t.id);
    let check = json!({"user_id": ann.to_string(), "permission": "contacts.view"});
    let invite = json!({"email": "z@acme.test", "display_name": "Z", "roles": ["user"]});
    // (scope, route, allowed?) with the owner, who holds every right.
    let cases: Vec<(&str, Method, String, Option<serde_json::Value>, bool)> = vec![
        (
            "check",
            Method::POST,
            format!("{base}/check"),
            Some(check.clone()),
            true,
        ),
        ("check", Method::GET, format!("{base}/users"), None, false),
        (
            "check",
            Method::POST,
            format!("{base}/invitations"),
            Some(invite.clone()),
            false,
        ),
        (
            "read",
            Method::POST,
            format!("{base}/check"),
            Some(check.clone()),
            true,
        ),
        ("read", Method::GET, format!("{base}/users"), None, true),
        ("read", Method::GET, format!("{base}/audit"), None, true),
        (
            "read",
            Method::GET,
            format!("{base}/access-review"),
            None,
            true,
        ),
        (
            "read",
            Method::POST,
            format!("{base}/invitations"),
            Some(invite.clone()),
            false,
        ),
        (
            "read",
            Method::PUT,
            format!("{base}/users/{ann}/roles"),
            Some(json!({"roles": ["admin"]})),
            false,
        ),
        ("events", Method::GET, format!("{base}/users"), None, false),
        (
            "events",
            Method::POST,
            format!("{base}/check"),
            Some(check.clone()),
            false,
        ),
        (
            "events",
            Method::POST,
            format!("{base}/invitations"),
            Some(invite.clone()),
            false,
        ),
        ("admin", Method::GET, format!("{base}/users"), None, true),
        (
            "admin",
            Method::POST,
            format!("{base}/invitations"),
            Some(invite.clone()),
            true,
        ),
    ];
    for (scope, method, path, body, allowed) in cases {
        let token = h.jwt(t.id, t.owner, Some(scope), false);
        let answer = h.send(method.clone(), &path, Some(&token), body).await;
        if allowed {
            assert!(
                answer.status.is_success(),
                "{scope} {method} {path}: {:?}",
                answer.body
            );
        } else {
            assert_eq!(
                answer.status,
                StatusCode::FORBIDDEN,
                "{scope} {method} {path}: {:?}",
                answer.body
            );
            assert!(
                answer.body["required_scope"].is_string(),
                "{:?}",
                answer.body
            );
        }
    }
    // A broader scope never exceeds the member's rights.
    let ann_admin = h.jwt(t.id, ann, Some("admin"), false);
    h.get(&format!("{base}/users"), &ann_admin)
        .await
        .problem(StatusCode::FORBIDDEN, "forbidden");
    h.send(
        Method::POST,
        &format!("{base}/invitations"),
        Some(&ann_admin),
        Some(invite),
    )
    .await
    .problem(StatusCode::FORBIDDEN, "forbidden");
}

#[tokio::test]
async fn inputs_past_their_limits_are_a_422_and_write_nothing() {
    let h = Harness::embedded();
    let t = h.tenant(json!("jtek")).await;
    let owner = h.jwt(t.id, t.owner, None, false);
    let path = format!("/v1/tenants/{}/invitations", t.id);
    let head = h.head().await;
    let long = "x".repeat(200_000);
    for body in [
        json!({"email": "a@acme.test", "display_name": long.clone(), "roles": ["user"]}),
        json!({"email": "a@acme.test", "display_name": "A", "roles": ["user"], "reason": long.clone()}),
        json!({"email": "a\u{0}b@acme.test", "display_name": "A", "roles": ["user"]}),
        json!({"email": format!("{}@acme.test", "a".repeat(250)), "display_name": "A", "roles": ["user"]}),
        json!({"email": "a@acme.test", "display_name": "evil\u{202e}txt.exe", "roles": ["user"]}),
        json!({"email": "a@acme.test", "display_name": "Line\nbreak", "roles": ["user"]}),
    ] {
        let answer = h
            .send(Method::POST, &path, Some(&owner), Some(body.clone()))
            .await;
        assert!(
            answer.status == StatusCode::UNPROCESSABLE_ENTITY
                || answer.status == StatusCode::PAYLOAD_TOO_LARGE,
            "{body}: {:?}",
            answer.body
        );
        assert_ne!(answer.status.as_u16() / 100, 5);
    }
    assert_eq!(h.head().await, head, "a refused request wrote");
    // A catalog whose invitations would never expire, or overflow the calendar.
    for hours in [4_294_967_295u64, 2_000_000_000, 2161] {
        let mut doc: serde_json::Value =
            serde_json::from_str(rollcall_catalogs::source("jtek").unwrap()).unwrap();
        doc["invite_ttl_hours"] = json!(hours);
        let answer = h
            .send(
                Method::POST,
                "/v1/tenants",
                Some(OPERATOR),
                Some(json!({"name": "Big", "catalog": doc, "owner": {"email": "o@big.test", "display_name": "O"}})),
            )
            .await;
        assert_eq!(
            answer.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{hours}: {:?}",
            answer.body
        );
    }
}

#[tokio::test]
async fn a_long_prerequisite_chain_is_compiled_in_linear_time_or_refused() {
    let h = Harness::embedded();
    // 1,000 permissions, each requiring the one before.
    let actions: Vec<_> = (0..1000)
        .map(|i| json!({"key": format!("a{i}"), "label": format!("A{i}")}))
        .collect();
    let requires: serde_json::Map<String, serde_json::Value> = (1..1000)
        .map(|i| (format!("chain.a{i}"), json!([format!("chain.a{}", i - 1)])))
        .collect();
    let doc = json!({
        "key": "chain", "label": "Chain",
        "areas": [{"key": "chain", "label": "Chain", "actions": actions},
                  {"key": "team", "label": "Team", "actions": [{"key": "manage", "label": "Manage"}]}],
        "requires": requires,
        "roles": [{"key": "admin", "label": "Admin", "grants": ["*"]}],
        "owner_roles": ["admin"], "team_permission": "team.manage",
        "plans": [{"key": "p", "label": "P"}], "default_plan": "p"
    });
    let started = std::time::Instant::now();
    let answer = h
        .send(
            Method::POST,
            "/v1/tenants",
            Some(OPERATOR),
            Some(json!({"name": "Chain", "catalog": doc, "owner": {"email": "o@chain.test", "display_name": "O"}})),
        )
        .await;
    // One area may hold at most 64 actions: refused, at once.
    assert_eq!(
        answer.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:?}",
        answer.body
    );
    assert!(
        answer.body["detail"]
            .as_str()
            .unwrap()
            .contains("actions in one area"),
        "{:?}",
        answer.body
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn commands_past_the_members_rate_are_a_429_with_retry_after() {
    let h = harness(HttpConfig {
        commands_per_member: RateLimit {
            per_second: 1,
            burst: 3,
        },
        ..HttpConfig::default()
    });
    let t = h.tenant(json!("jtek")).await;
    let owner = h.jwt(t.id, t.owner, None, false);
    let path = format!("/v1/tenants/{}/invitations", t.id);
    let mut statuses = Vec::new();
    for i in 0..6 {
        let answer = h
            .send(
                Method::POST,
                &path,
                Some(&owner),
                Some(json!({"email": format!("u{i}@acme.test"), "display_name": "U", "roles": ["user"]})),
            )
            .await;
        if answer.status == StatusCode::TOO_MANY_REQUESTS {
            assert!(answer.headers.contains_key("retry-after"));
            assert_eq!(
                answer.body["type"],
                "https://rollcall.dev/problems/rate-limited"
            );
        }
        statuses.push(answer.status.as_u16());
    }
    assert_eq!(&statuses[..3], &[201, 201, 201], "{statuses:?}");
    assert!(statuses[3..].contains(&429), "{statuses:?}");
    // The operator is not a member: its commands are not counted per member.
    h.send(
        Method::POST,
        &path,
        Some(OPERATOR),
        Some(json!({"email": "op@acme.test", "display_name": "Op", "roles": ["user"]})),
    )
    .await
    .expect(StatusCode::CREATED);
}

#[tokio::test]
async fn the_access_review_csv_neutralises_formulas() {
    let h = Harness::embedded();
    let t = h.tenant(json!("jtek")).await;
    let owner = h.jwt(t.id, t.owner, None, false);
    h.send(
        Method::POST,
        &format!("/v1/tenants/{}/invitations", t.id),
        Some(&owner),
        Some(json!({"email": "evil@acme.test", "display_name": "=HYPERLINK(\"http://evil.test\",\"x\")", "roles": ["user"]})),
    )
    .await
    .expect(StatusCode::CREATED);
    let answer = h
        .send_with(
            Method::GET,
            &format!("/v1/tenants/{}/access-review", t.id),
            Some(&owner),
            None,
            &[("accept", "text/csv")],
        )
        .await
        .expect(StatusCode::OK);
    let csv = answer.body.as_str().unwrap().to_owned();
    assert!(csv.contains("'=HYPERLINK"), "{csv}");
    assert!(
        !csv.contains(",=HYPERLINK") && !csv.contains(",\"=HYPERLINK"),
        "{csv}"
    );
}

#[tokio::test]
async fn requests_naming_tenants_that_do_not_exist_keep_no_state() {
    let h = Harness::embedded();
    let t = h.tenant(json!("jtek")).await;
    let owner = h.jwt(t.id, t.owner, None, false);
    let cached = h.state.service().cached_tenants();
    for _ in 0..500 {
        let random = rollcall_events::TenantId(uuid::Uuid::new_v4());
        // Another tenant's path with a member token: refused before any lookup.
        h.get(&format!("/v1/tenants/{random}/users"), &owner)
            .await
            .problem(StatusCode::FORBIDDEN, "forbidden");
        // The operator, whose token fits any tenant: nothing found, nothing kept.
        h.get(&format!("/v1/tenants/{random}/users"), OPERATOR)
            .await
            .problem(StatusCode::NOT_FOUND, "not-found");
    }
    assert_eq!(h.state.service().cached_tenants(), cached);
}

#[tokio::test]
async fn the_metrics_are_the_operators() {
    let h = Harness::embedded();
    let t = h.tenant(json!("jtek")).await;
    h.send(Method::GET, "/metrics", None, None)
        .await
        .problem(StatusCode::UNAUTHORIZED, "unauthorized");
    h.get("/metrics", &h.jwt(t.id, t.owner, None, false))
        .await
        .problem(StatusCode::FORBIDDEN, "forbidden");
    h.get("/metrics", OPERATOR).await.expect(StatusCode::OK);
    let public = harness(HttpConfig {
        metrics_public: true,
        ..HttpConfig::default()
    });
    public
        .send(Method::GET, "/metrics", None, None)
        .await
        .expect(StatusCode::OK);
}
