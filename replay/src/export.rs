//! Export of the audit trail for an auditor: one line per event, as JSON Lines or
//! CSV, filtered by tenant, target user, actor, types and time. Streamed: one
//! event is read, judged and written at a time, so a trail of any length exports
//! in constant memory.

use std::io::Write;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use futures::{Stream, StreamExt};
use rollcall_events::{Actor, RawEnvelope, TenantId, UserId};
use rollcall_log::{EventLog, LogError};
use rollcall_projections::change;
use serde::Serialize;
use serde_json::Value;

use crate::csv_out::CsvOut;
use crate::error::ReplayError;

/// Which events to export. Every field left empty matches everything; `from` and
/// `to` bound `occurred_at`, both inclusive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportFilter {
    pub tenant: Option<TenantId>,
    /// Events about this member (their target).
    pub user: Option<UserId>,
    pub actor: Option<Actor>,
    /// Stored type names (`user.roles_changed`); empty means every type.
    pub types: Vec<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

impl ExportFilter {
    /// Checks what can be checked without decoding the event's data.
    fn admits_envelope(&self, e: &RawEnvelope) -> bool {
        self.tenant.is_none_or(|t| t == e.tenant_id)
            && self.actor.is_none_or(|a| a == e.actor)
            && (self.types.is_empty() || self.types.contains(&e.event_type))
            && self.from.is_none_or(|f| e.occurred_at >= f)
            && self.to.is_none_or(|t| e.occurred_at <= t)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// One [`AuditLine`] per line.
    Jsonl,
    /// One [`AuditLine`] per row, header first.
    Csv,
    /// The stored envelopes themselves, one per line, exactly as hashed: what an
    /// auditor needs to recompute every hash without Rollcall.
    Envelopes,
}

impl FromStr for ExportFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "jsonl" | "json" => Ok(ExportFormat::Jsonl),
            "csv" => Ok(ExportFormat::Csv),
            "envelopes" => Ok(ExportFormat::Envelopes),
            other => Err(format!(
                "unknown export format `{other}` (jsonl, csv or envelopes)"
            )),
        }
    }
}

/// One exported event. The field order is the CSV column order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditLine {
    pub position: u64,
    pub tenant_id: TenantId,
    pub tenant_seq: u64,
    pub occurred_at: DateTime<Utc>,
    #[serde(rename = "type")]
    pub event_type: String,
    pub actor: Actor,
    pub target: Option<UserId>,
    pub reason: Option<String>,
    /// What the event changed, exactly as the HTTP audit shows it
    /// ([`rollcall_projections::change`]); `null` where there is no such side.
    pub before: Value,
    pub after: Value,
    pub hash: String,
    pub prev_hash: String,
}

impl AuditLine {
    /// The line's cells, in [`AUDIT_COLUMNS`] order.
    fn cells(&self) -> [String; 12] {
        let opt = |v: Option<String>| v.unwrap_or_default();
        // JSON text in the cell; an absent side is an empty cell.
        let json = |v: &Value| match v {
            Value::Null => String::new(),
            v => v.to_string(),
        };
        [
            self.position.to_string(),
            self.tenant_id.to_string(),
            self.tenant_seq.to_string(),
            self.occurred_at
                .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            self.event_type.clone(),
            self.actor.to_string(),
            opt(self.target.map(|t| t.to_string())),
            opt(self.reason.clone()),
            json(&self.before),
            json(&self.after),
            self.hash.clone(),
            self.prev_hash.clone(),
        ]
    }

    /// The line of one stored event. An event this build cannot decode is still
    /// exported (an auditor must see it), with the decode error as its `after`.
    pub fn from_envelope(e: &RawEnvelope) -> AuditLine {
        let (target, before, after) = match e.decode() {
            Ok(decoded) => {
                let (before, after) = change(&decoded.event);
                (decoded.target(), before, after)
            }
            Err(error) => (
                None,
                Value::Null,
                Value::String(format!("undecodable: {error}")),
            ),
        };
        AuditLine {
            position: e.position,
            tenant_id: e.tenant_id,
            tenant_seq: e.tenant_seq,
            occurred_at: e.occurred_at,
            event_type: e.event_type.clone(),
            actor: e.actor,
            target,
            reason: e.reason.clone(),
            before,
            after,
            hash: e.hash.clone(),
            prev_hash: e.prev_hash.clone(),
        }
    }
}

/// What an export wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ExportSummary {
    /// Events read from the stream.
    pub scanned: u64,
    /// Lines written (CSV: not counting the header).
    pub written: u64,
}

/// Exports the events of `stream` that pass `filter` to `writer`. CSV starts with
/// a header row, even when nothing matches.
pub async fn export<S, W>(
    stream: S,
    filter: &ExportFilter,
    format: ExportFormat,
    writer: W,
) -> Result<ExportSummary, ReplayError>
where
    S: Stream<Item = Result<RawEnvelope, LogError>>,
    W: Write,
{
    let mut sink = Sink::new(format, writer)?;
    let mut summary = ExportSummary {
        scanned: 0,
        written: 0,
    };
    let mut stream = std::pin::pin!(stream);
    while let Some(event) = stream.next().await {
        let event = event?;
        summary.scanned += 1;
        if !filter.admits_envelope(&event) {
            continue;
        }
        if let Sink::Envelopes(w) = &mut sink {
            // The user filter needs the decoded target; everything else is raw.
            if filter.user.is_some() && target_of(&event) != filter.user {
                continue;
            }
            serde_json::to_writer(&mut *w, &event)
                .map_err(|e| ReplayError::Write(e.to_string()))?;
            w.write_all(b"\n")?;
            summary.written += 1;
            continue;
        }
        let line = AuditLine::from_envelope(&event);
        if filter.user.is_some() && line.target != filter.user {
            continue;
        }
        sink.write(&line)?;
        summary.written += 1;
    }
    sink.finish()?;
    Ok(summary)
}

enum Sink<W: Write> {
    Jsonl(W),
    Envelopes(W),
    // Boxed: the CSV writer carries its own buffer, the JSONL sink nothing.
    Csv(Box<CsvOut<W>>),
}

impl<W: Write> Sink<W> {
    fn new(format: ExportFormat, writer: W) -> Result<Self, ReplayError> {
        Ok(match format {
            ExportFormat::Jsonl => Sink::Jsonl(writer),
            ExportFormat::Envelopes => Sink::Envelopes(writer),
            ExportFormat::Csv => {
                // The header is written explicitly so an empty export still names
                // its columns.
                let mut csv = CsvOut::new(writer);
                csv.row(AUDIT_COLUMNS)?;
                Sink::Csv(Box::new(csv))
            }
        })
    }

    fn write(&mut self, line: &AuditLine) -> Result<(), ReplayError> {
        match self {
            Sink::Jsonl(w) | Sink::Envelopes(w) => {
                serde_json::to_writer(&mut *w, line)
                    .map_err(|e| ReplayError::Write(e.to_string()))?;
                w.write_all(b"\n")?;
            }
            Sink::Csv(w) => w.row(line.cells())?,
        }
        Ok(())
    }

    fn finish(self) -> Result<(), ReplayError> {
        match self {
            Sink::Jsonl(mut w) | Sink::Envelopes(mut w) => w.flush()?,
            Sink::Csv(mut w) => w.flush()?,
        }
        Ok(())
    }
}

fn target_of(e: &RawEnvelope) -> Option<UserId> {
    e.decode().ok().and_then(|d| d.target())
}

/// CSV header, in [`AuditLine`]'s field order.
const AUDIT_COLUMNS: [&str; 12] = [
    "position",
    "tenant_id",
    "tenant_seq",
    "occurred_at",
    "type",
    "actor",
    "target",
    "reason",
    "before",
    "after",
    "hash",
    "prev_hash",
];

/// Exports straight from a log: the tenant's own read when the filter names one,
/// else the whole log.
pub async fn export_log<W: Write>(
    log: &dyn EventLog,
    filter: &ExportFilter,
    format: ExportFormat,
    writer: W,
) -> Result<ExportSummary, ReplayError> {
    let stream = match filter.tenant {
        Some(tenant) => log.read_tenant(tenant, 1).await?,
        None => log.read(0).await?,
    };
    export(stream, filter, format, writer).await
}
