//! Identifier newtypes. Every id that crosses a crate boundary has its own type so a
//! user id can never be passed where a tenant id is meant.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            pub fn from_u128(v: u128) -> Self {
                Self(Uuid::from_u128(v))
            }
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

uuid_id!(
    /// An account / company; owns exactly one team.
    TenantId
);
uuid_id!(
    /// A member of a tenant's team.
    UserId
);
uuid_id!(
    /// One invitation; a resend keeps the id and changes the nonce.
    InvitationId
);
uuid_id!(
    /// The id of one event (uuid v7); the log deduplicates on it.
    EventId
);

macro_rules! key_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            pub fn new(s: impl Into<String>) -> Self {
                Self(s.into())
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_owned())
            }
        }

        // Hash and equality come from the inner `String`, so lookups by `&str`
        // agree with lookups by key.
        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }
    };
}

key_id!(
    /// A role's key within a tenant (`admin`, `standard_user`, a custom role's key).
    RoleKey
);
key_id!(
    /// A permission `area.action`, or a grant pattern `area.*` / `*` where patterns are allowed.
    Permission
);
key_id!(
    /// An office (a Jetbuilt office location, or any product's site/branch).
    OfficeId
);

/// Who caused an event: a member of the tenant, or the operator (the installation's
/// own superuser token, used to create tenants and for break-glass fixes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Actor {
    Operator,
    User(UserId),
}

impl Actor {
    pub fn user(&self) -> Option<UserId> {
        match self {
            Actor::Operator => None,
            Actor::User(u) => Some(*u),
        }
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::Operator => f.write_str("operator"),
            Actor::User(u) => u.fmt(f),
        }
    }
}

impl FromStr for Actor {
    type Err = uuid::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "operator" {
            Ok(Actor::Operator)
        } else {
            s.parse().map(Actor::User)
        }
    }
}

impl Serialize for Actor {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Actor {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}
