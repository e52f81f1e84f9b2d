//! The stored form of events whose optional fields are left out: absent fields
//! must stay absent (or `null`) on the wire, and still decode.

mod common;

use std::collections::BTreeMap;

use pretty_assertions::assert_eq;
use rollcall_events::*;

fn lean_events() -> Vec<Event> {
    vec![
        Event::UserInvited(UserInvited {
            user_id: common::member(),
            invitation_id: InvitationId::from_u128(common::INVITATION),
            email: "ext@partner.example".to_owned(),
            display_name: "Ext Ernal".to_owned(),
            kind: MemberKind::External,
            roles: Vec::new(),
            overrides: BTreeMap::new(),
            nonce: "n0nce-sample-3".to_owned(),
            expires_at: common::at(12, 0),
        }),
        Event::UserDeactivated(UserDeactivated {
            user_id: common::member(),
            reassign_to: None,
            roles: Vec::new(),
        }),
        Event::UserLoggedIn(UserLoggedIn {
            user_id: common::member(),
            source_ip: None,
        }),
    ]
}

#[test]
fn optional_fields_left_out() {
    let sealed: Vec<RawEnvelope> = lean_events()
        .iter()
        .enumerate()
        .map(|(i, e)| RawEnvelope::seal(common::meta(i + 1), common::PREV_HASH, e))
        .collect();
    insta::assert_json_snapshot!("lean_events", sealed);
    for (raw, event) in sealed.iter().zip(lean_events()) {
        assert!(raw.hash_is_valid());
        assert_eq!(raw.decode().map(|env| env.event), Ok(event));
    }
}
