//! The gateway's own limits on callers: command rates per member and per client
//! address, open event streams per member and per tenant, and which address a
//! request comes from (the connection's peer, or the client a trusted proxy
//! names). Each refusal is a 429 with `Retry-After`.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, StatusCode};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use ipnet::IpNet;
use rollcall_events::{TenantId, UserId};

use crate::problem::ApiError;

/// A rate: so many per second, with bursts up to `burst`. Zero turns it off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub per_second: u32,
    pub burst: u32,
}

impl RateLimit {
    fn quota(self) -> Option<Quota> {
        let rate = NonZeroU32::new(self.per_second)?;
        let burst = NonZeroU32::new(self.burst.max(self.per_second))?;
        Some(Quota::per_second(rate).allow_burst(burst))
    }
}

/// Keyed limiters for commands.
pub struct RateLimits {
    members: Option<DefaultKeyedRateLimiter<UserId>>,
    addresses: Option<DefaultKeyedRateLimiter<IpAddr>>,
}

impl RateLimits {
    pub fn new(per_member: RateLimit, per_ip: RateLimit) -> RateLimits {
        RateLimits {
            members: per_member.quota().map(RateLimiter::keyed),
            addresses: per_ip.quota().map(RateLimiter::keyed),
        }
    }

    /// Takes one command from the member's and the address's allowance.
    pub fn command(&self, member: Option<UserId>, ip: Option<IpAddr>) -> Result<(), ApiError> {
        if let (Some(limiter), Some(member)) = (&self.members, member) {
            limiter.check_key(&member).map_err(|wait| {
                too_many(
                    "this member",
                    wait.wait_time_from(DefaultClock::default().now()),
                )
            })?;
        }
        if let (Some(limiter), Some(ip)) = (&self.addresses, ip) {
            limiter.check_key(&ip).map_err(|wait| {
                too_many(
                    "this address",
                    wait.wait_time_from(DefaultClock::default().now()),
                )
            })?;
        }
        Ok(())
    }

    /// Forgets keys whose allowance is full again, so memory stays bounded by the
    /// callers of the last few seconds.
    pub fn prune(&self) {
        if let Some(l) = &self.members {
            l.retain_recent();
            l.shrink_to_fit();
        }
        if let Some(l) = &self.addresses {
            l.retain_recent();
            l.shrink_to_fit();
        }
    }
}

fn too_many(who: &str, wait: Duration) -> ApiError {
    let mut e = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate-limited",
        format!("{who} sent more commands than allowed; retry later"),
    );
    e.retry_after = Some(wait.as_secs().max(1));
    e
}

/// Open event streams, counted per member and per tenant.
pub struct StreamSlots {
    per_member: usize,
    per_tenant: usize,
    open: Arc<Mutex<Counts>>,
}

#[derive(Default)]
struct Counts {
    members: HashMap<(TenantId, Option<UserId>), usize>,
    tenants: HashMap<TenantId, usize>,
}

/// One open stream; its slot is freed when this is dropped (the stream ended or
/// the client went away).
pub struct StreamSlot {
    key: (TenantId, Option<UserId>),
    open: Arc<Mutex<Counts>>,
}

impl StreamSlots {
    pub fn new(per_member: usize, per_tenant: usize) -> StreamSlots {
        StreamSlots {
            per_member,
            per_tenant,
            open: Arc::new(Mutex::new(Counts::default())),
        }
    }

    /// A slot for a stream of `tenant` by `member` (none for the operator), or 429.
    pub fn open(&self, tenant: TenantId, member: Option<UserId>) -> Result<StreamSlot, ApiError> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let key = (tenant, member);
        let mine = open.members.get(&key).copied().unwrap_or(0);
        let theirs = open.tenants.get(&tenant).copied().unwrap_or(0);
        let refuse = |what: String| {
            let mut e = ApiError::new(StatusCode::TOO_MANY_REQUESTS, "too-many-streams", what);
            e.retry_after = Some(5);
            e
        };
        if member.is_some() && mine >= self.per_member {
            return Err(refuse(format!(
                "this member already has {mine} event streams open (at most {})",
                self.per_member
            )));
        }
        if theirs >= self.per_tenant {
            return Err(refuse(format!(
                "this tenant already has {theirs} event streams open (at most {})",
                self.per_tenant
            )));
        }
        *open.members.entry(key).or_default() += 1;
        *open.tenants.entry(tenant).or_default() += 1;
        Ok(StreamSlot {
            key,
            open: self.open.clone(),
        })
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = open.members.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                open.members.remove(&self.key);
            }
        }
        if let Some(n) = open.tenants.get_mut(&self.key.0) {
            *n -= 1;
            if *n == 0 {
                open.tenants.remove(&self.key.0);
            }
        }
    }
}

/// The address a request comes from: the connection's peer, unless that peer is
/// a trusted proxy, in which case the right-most address of `X-Forwarded-For`
/// that is not itself a trusted proxy. `None` when the server did not record
/// the peer (a router driven in-process).
pub fn client_ip(
    peer: Option<&ConnectInfo<SocketAddr>>,
    headers: &HeaderMap,
    trusted: &[IpNet],
) -> Option<IpAddr> {
    let peer = peer?.0.ip();
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    Some(
        forwarded
            .into_iter()
            .rev()
            .find(|ip| !is_trusted(ip))
            .unwrap_or(peer),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_is_the_peer_unless_a_trusted_proxy_names_it() {
        let peer = |ip: &str| ConnectInfo(SocketAddr::new(ip.parse().unwrap(), 4000));
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", "203.0.113.9, 10.1.1.1".parse().unwrap());
        // A direct client cannot claim another address.
        assert_eq!(
            client_ip(Some(&peer("198.51.100.7")), &headers, &trusted),
            "198.51.100.7".parse().ok()
        );
        // Through the trusted proxy, the right-most untrusted hop.
        assert_eq!(
            client_ip(Some(&peer("10.0.0.2")), &headers, &trusted),
            "203.0.113.9".parse().ok()
        );
        assert_eq!(client_ip(None, &headers, &trusted), None);
    }

    #[test]
    fn stream_slots_are_capped_and_freed() {
        let slots = StreamSlots::new(2, 3);
        let t = TenantId::from_u128(1);
        let (a, b) = (Some(UserId::from_u128(1)), Some(UserId::from_u128(2)));
        let first = slots.open(t, a).expect("first");
        let _second = slots.open(t, a).expect("second");
        assert_eq!(slots.open(t, a).err().map(|e| e.status.as_u16()), Some(429));
        let _third = slots.open(t, b).expect("another member");
        assert_eq!(slots.open(t, b).err().map(|e| e.status.as_u16()), Some(429));
        drop(first);
        assert!(slots.open(t, a).is_ok());
    }

    #[test]
    fn commands_past_the_rate_are_refused_with_a_wait() {
        let limits = RateLimits::new(
            RateLimit {
                per_second: 1,
                burst: 2,
            },
            RateLimit {
                per_second: 0,
                burst: 0,
            },
        );
        let member = Some(UserId::from_u128(7));
        assert!(limits.command(member, None).is_ok());
        assert!(limits.command(member, None).is_ok());
        let refused = limits
            .command(member, None)
            .expect_err("third in a burst of two");
        assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(refused.retry_after.is_some());
        // Another member has its own allowance.
        assert!(limits.command(Some(UserId::from_u128(8)), None).is_ok());
    }
}
