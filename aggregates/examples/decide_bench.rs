//! Rough timings of the domain core on a large team: folding, deciding, resolving
//! and checking. Run once with `cargo run --release -p rollcall-aggregates --example decide_bench`.

use std::time::Instant;

use rollcall_aggregates::testing::*;
use rollcall_aggregates::{
    CheckRequest, Command, Context, Resource, Team, check, decide, effective,
};
use rollcall_events::{Actor, Event, Toggle};

fn main() {
    let members: u128 = 1_000;
    let mut events = vec![tenant_created(catalogs::small())];
    for n in 2..members + 2 {
        let role = ["user", "viewer", "manager"][(n % 3) as usize];
        events.extend(joined(user(n), &[role]));
    }
    let started = Instant::now();
    let envelopes = seal_after(
        &Team::default(),
        events.into_iter().map(|e| (Actor::Operator, e)),
    );
    let sealed = started.elapsed();
    let started = Instant::now();
    let team = fold(Team::default(), &envelopes);
    let folded = started.elapsed();

    let ctx = Context {
        now: t0(),
        actor: Actor::User(OWNER),
        mfa: false,
        reason: None,
    };
    let rounds = 1_000u128;
    let started = Instant::now();
    let mut accepted = 0;
    for n in 0..rounds {
        let command = Command::TogglePermission {
            user_id: user(2 + n % members),
            permission: "billing.view".into(),
            state: Toggle::Allow,
        };
        if let Ok(Event::PermissionToggled(_)) = decide(&team, &command, &ctx) {
            accepted += 1;
        }
    }
    let decided = started.elapsed();
    let started = Instant::now();
    for n in 0..rounds {
        let command = Command::DeactivateUser {
            user_id: user(2 + n % members),
            reassign_to: None,
        };
        let _ = decide(&team, &command, &ctx);
    }
    let deactivations = started.elapsed();

    let started = Instant::now();
    let resolved = (2..members + 2)
        .filter_map(|n| effective(&team, user(n)))
        .count();
    let effective_all = started.elapsed();
    let started = Instant::now();
    let mut allowed = 0;
    for n in 0..rounds {
        let out = check(
            &team,
            &CheckRequest {
                user_id: user(2 + n % members),
                permission: "contacts.edit".into(),
                resource: Resource::default(),
                source_ip: None,
            },
        );
        allowed += usize::from(out.allowed);
    }
    let checked = started.elapsed();

    println!("team of {members} members ({} events)", envelopes.len());
    println!("seal + decode: {sealed:?}; fold: {folded:?}");
    println!(
        "decide toggle: {:?}/command ({accepted} accepted)",
        decided / rounds as u32
    );
    println!(
        "decide deactivate: {:?}/command",
        deactivations / rounds as u32
    );
    println!(
        "effective: {:?}/member ({resolved} resolved)",
        effective_all / resolved as u32
    );
    println!(
        "check: {:?}/request ({allowed} allowed)",
        checked / rounds as u32
    );
}
