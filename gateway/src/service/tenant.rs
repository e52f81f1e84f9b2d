//! One tenant's state as the command service keeps it: the Team folded from the
//! tenant's stream, and the answers to the idempotency keys of its last day. The
//! Team's members are shared with the read side where they are equal.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use rollcall_aggregates::{Team, evolve};
use rollcall_events::{Envelope, GENESIS_HASH, TenantId, UserId};

use crate::service::idempotency::{KEY_TTL, Remembered, StoredKey};
use crate::service::{Executed, SharedMembers};

/// The Team and the idempotency answers, folded up to `team.tenant_seq`.
#[derive(Debug, Default)]
pub(crate) struct TenantState {
    pub team: Team,
    keys: HashMap<String, Remembered>,
    /// Keys in the order they were first used, to forget them once expired.
    ages: VecDeque<(DateTime<Utc>, String)>,
    /// Members whose copy this state folded itself since it last looked for an
    /// equal one to share, oldest first, once per event that touched them (at
    /// most [`UNSHARED_MAX`]).
    unshared: VecDeque<UserId>,
}

/// How many members wait at most to be shared; past it the oldest stay this
/// state's own copies (only memory, never an answer, depends on sharing).
const UNSHARED_MAX: usize = 4096;

impl TenantState {
    /// The hash the next event chains to.
    pub fn head_hash(&self) -> &str {
        if self.team.tenant_seq == 0 {
            GENESIS_HASH
        } else {
            &self.team.head_hash
        }
    }

    /// The first answer given for `key`, unless it expired by `now`.
    pub fn answer_for(&self, key: &str, now: DateTime<Utc>) -> Option<&Remembered> {
        self.keys.get(key).filter(|r| now - r.at < KEY_TTL)
    }

    /// Folds one envelope (already decoded, position assigned), and forgets the
    /// keys that expired by its time.
    pub fn fold(&mut self, tenant: TenantId, envelope: &Envelope) {
        if let Some(stored) = envelope.idempotency_key.as_deref() {
            let key = StoredKey::parse(stored);
            let fresh = self.answer_for(key.key, envelope.occurred_at).is_none();
            if fresh {
                self.keys.insert(
                    key.key.to_owned(),
                    Remembered {
                        fingerprint: key.fingerprint.map(str::to_owned),
                        at: envelope.occurred_at,
                        executed: Executed {
                            tenant,
                            position: envelope.position,
                            event_id: envelope.event_id,
                            event: envelope.event.clone(),
                            tenant_seq: envelope.tenant_seq,
                        },
                    },
                );
                self.ages
                    .push_back((envelope.occurred_at, key.key.to_owned()));
            }
        }
        while let Some((at, _)) = self.ages.front() {
            if envelope.occurred_at - *at < KEY_TTL {
                break;
            }
            if let Some((at, key)) = self.ages.pop_front()
                && self.keys.get(&key).is_some_and(|r| r.at == at)
            {
                self.keys.remove(&key);
            }
        }
        let team = std::mem::take(&mut self.team);
        self.team = evolve(team, envelope);
        if let Some(user) = envelope.target() {
            if self.unshared.len() == UNSHARED_MAX {
                self.unshared.pop_front();
            }
            self.unshared.push_back(user);
        }
    }

    /// Swaps this state's copy of each member it folded since the last call for
    /// an equal one `shared` holds, so one copy of the member stays resident.
    /// Only an equal member is taken: the state decides exactly as before. While
    /// `shared` has not folded as far as this state, a member it holds otherwise
    /// is looked for again next time.
    pub fn share(&mut self, tenant: TenantId, shared: &SharedMembers) {
        if self.unshared.is_empty() {
            return;
        }
        // A member folded several times since the last look is looked for once.
        let mut users: Vec<UserId> = self.unshared.drain(..).collect();
        users.sort_unstable();
        users.dedup();
        let held = shared(tenant, &users);
        let behind = held.tenant_seq < self.team.tenant_seq;
        for (user, theirs) in users.into_iter().zip(held.members) {
            let Some(mine) = self.team.members.get_mut(&user) else {
                continue;
            };
            match theirs {
                Some(theirs) if Arc::ptr_eq(mine, &theirs) => {}
                Some(theirs) if *theirs == **mine => *mine = theirs,
                _ if behind => self.unshared.push_back(user),
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use pretty_assertions::assert_eq;
    use rollcall_aggregates::Team;
    use rollcall_aggregates::testing::{
        OWNER, TENANT, accepted, catalogs, fold, invited, seal_after, tenant_created, user,
    };
    use rollcall_events::Actor;

    use super::TenantState;
    use crate::service::{Held, SharedMembers};

    /// A read side holding `team`.
    fn reader(team: &Team) -> SharedMembers {
        let members = team.members.clone();
        let seq = team.tenant_seq;
        Arc::new(move |_, users| Held {
            tenant_seq: seq,
            members: users.iter().map(|u| members.get(u).cloned()).collect(),
        })
    }

    #[test]
    fn members_equal_to_the_read_sides_are_shared_and_the_state_is_unchanged() {
        let by_owner = |e| (Actor::User(OWNER), e);
        let mut envelopes = seal_after(
            &Team::default(),
            [(Actor::Operator, tenant_created(catalogs::small()))],
        );
        let more = [invited(user(2), &["user"]), invited(user(3), &["user"])];
        let after = fold(Team::default(), &envelopes);
        envelopes.extend(seal_after(&after, more.into_iter().map(by_owner)));
        let mut state = TenantState::default();
        for e in &envelopes {
            state.fold(TENANT, e);
        }
        let own = state.team.clone();

        // A read side one event behind: user 2 is shared, user 3 waits.
        let (last, earlier) = envelopes.split_last().expect("events");
        let behind = fold(Team::default(), earlier);
        state.share(TENANT, &reader(&behind));
        assert_eq!(state.team, own);
        assert_eq!(
            state.unshared.iter().copied().collect::<Vec<_>>(),
            [user(3)]
        );

        let read = fold(behind, [last]);
        state.share(TENANT, &reader(&read));
        assert_eq!(state.team, own);
        for u in [OWNER, user(2), user(3)] {
            assert!(
                Arc::ptr_eq(&state.team.members[&u], &read.members[&u]),
                "{u}"
            );
        }
        assert!(state.unshared.is_empty());

        // A change folded afterwards is this state's own until shared again,
        // and leaves the read side's copy as it was.
        let accept = seal_after(&state.team, [(Actor::User(user(2)), accepted(user(2)))]);
        state.fold(TENANT, &accept[0]);
        assert!(!Arc::ptr_eq(
            &state.team.members[&user(2)],
            &read.members[&user(2)]
        ));
        assert_eq!(read.members[&user(2)], own.members[&user(2)]);
    }
}
