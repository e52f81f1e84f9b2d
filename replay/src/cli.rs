//! `rollcall replay …`: the clap arguments of each subcommand and [`run`], which
//! opens the log the way `serve` does ([`crate::open`]) and calls the library.
//!
//! Exit codes: 0 success; 1 the trail is not intact (verify); 2 the command could
//! not run (bad arguments, log unavailable, unreadable files).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use rollcall_events::{Actor, Permission, TenantId, UserId};
use rollcall_log::EventLog;
use serde::Serialize;

use crate::as_of::{EffectiveAsOf, TeamHistory};
use crate::checkpoint::{CheckpointSigner, SignedCheckpoint, latest_checkpoints};
use crate::csv_out::CsvOut;
use crate::export::{ExportFilter, ExportFormat, export_log};
use crate::open::{LogLocation, OpenedLog, open_log};
use crate::verify::verify_log;

/// Rebuild, verify, export, as-of, access-review, diff, pubkey.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    #[command(subcommand)]
    pub command: ReplayCommand,
}

#[derive(Debug, Subcommand)]
pub enum ReplayCommand {
    /// Fold the whole log into fresh projections and switch the data dir to them.
    ///
    /// The views are built in `<data-dir>/projections.rebuild-<time>`; only when
    /// complete is the old `projections` renamed to `projections.old-<time>` and the
    /// new one renamed into its place. Stop `rollcall serve` first (the embedded
    /// log, and the projections, are locked while it runs); a gateway started
    /// afterwards uses the rebuilt views.
    Rebuild(RebuildArgs),
    /// Walk every tenant's hash chain (or one tenant's) and name the first thing
    /// wrong; with --checkpoint also catch removed newest events and rewrites.
    Verify(VerifyArgs),
    /// Export the audit trail (csv, jsonl, or the stored envelopes).
    Export(ExportArgs),
    /// A member's effective permissions (--user), or every holder of a permission
    /// (--permission), as of an instant.
    AsOf(AsOfArgs),
    /// Every member × effective permission with sources, as of an instant.
    AccessReview(ReviewArgs),
    /// Permissions granted and revoked between two instants, with their causes.
    Diff(DiffArgs),
    /// Print the checkpoint public key (hex) of this installation.
    Pubkey(PubkeyArgs),
}

/// Where the log is: the same flags as `rollcall serve`.
#[derive(Debug, Clone, Args)]
pub struct LogArgs {
    /// The data dir `rollcall serve` uses (the embedded log is `<data-dir>/log`).
    #[arg(long, env = "ROLLCALL_DATA_DIR", default_value = "./rollcall-data")]
    pub data_dir: PathBuf,
    /// Read the JetStream log at this URL instead of the embedded log
    /// (several comma-separated URLs name a cluster).
    // The URL may carry credentials: `--help` never shows its value.
    #[arg(long, env = "ROLLCALL_NATS_URL", hide_env_values = true)]
    pub nats_url: Option<String>,
    /// Replicas the JetStream streams must have; a stream with another count is
    /// refused. Without it any count is accepted.
    #[arg(long, env = "ROLLCALL_NATS_REPLICAS")]
    pub nats_replicas: Option<usize>,
    /// Longest a JetStream request may take, in milliseconds, as for `rollcall
    /// serve`; past it the command stops with the log unavailable. 5000 when absent.
    #[arg(long, env = "ROLLCALL_NATS_TIMEOUT_MS",
        value_parser = clap::value_parser!(u64).range(100..=60_000))]
    pub nats_timeout_ms: Option<u64>,
}

impl LogArgs {
    /// Opens the log for a command-line tool, with an error that says what to do:
    /// no embedded log here, or a server still holding it.
    pub async fn open(&self) -> Result<OpenedLog, String> {
        if self.nats_url.is_none() && !LogLocation::embedded_dir(&self.data_dir).exists() {
            return Err(format!(
                "no embedded log in {} (give the data dir `rollcall serve` used, or --nats-url)",
                self.data_dir.display()
            ));
        }
        open_log(&self.location()).await.map_err(|e| {
            format!("{e} (is `rollcall serve` still running on this data dir? stop it first)")
        })
    }

    fn location(&self) -> LogLocation {
        LogLocation {
            data_dir: self.data_dir.clone(),
            nats_url: self.nats_url.clone(),
            nats_replicas: self.nats_replicas,
            cache_bytes: Some(crate::open::REPLAY_CACHE_BYTES),
            nats_timeout: self.nats_timeout_ms.map(std::time::Duration::from_millis),
        }
    }
}

/// Where the answer goes.
#[derive(Debug, Clone, Args)]
pub struct OutArgs {
    /// Write here instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RebuildArgs {
    #[command(flatten)]
    pub log: LogArgs,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub log: LogArgs,
    /// Only this tenant (its id); every tenant when absent.
    #[arg(long)]
    pub tenant: Option<TenantId>,
    /// A signed checkpoint (JSON: one checkpoint, an array, or the answer of
    /// `GET /v1/tenants/{t}/checkpoints`); each is checked against the trail.
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    /// Also check against the newest checkpoints kept by this installation.
    #[arg(long)]
    pub stored_checkpoints: bool,
    /// Refuse checkpoints not signed by this public key (hex, as `rollcall replay
    /// pubkey` prints it). Repeat to trust several keys (a rotated key, say).
    #[arg(long = "public-key")]
    pub public_keys: Vec<String>,
    /// `text` (default) or `json` (the whole report).
    #[arg(long, default_value = "text")]
    pub format: String,
    #[command(flatten)]
    pub out: OutArgs,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub log: LogArgs,
    /// Only this tenant (its id); every tenant when absent.
    #[arg(long)]
    pub tenant: Option<TenantId>,
    /// Events about this member.
    #[arg(long)]
    pub user: Option<UserId>,
    /// Events caused by this member id, or `operator`.
    #[arg(long)]
    pub actor: Option<Actor>,
    /// Event type (`user.roles_changed`); repeat for several.
    #[arg(long = "type")]
    pub types: Vec<String>,
    /// Earliest `occurred_at`, inclusive: an RFC 3339 instant, or a date
    /// (`2026-12-02`, that day's 00:00 UTC).
    #[arg(long, value_parser = parse_instant)]
    pub from: Option<DateTime<Utc>>,
    /// Latest `occurred_at`, inclusive: an RFC 3339 instant, or a date (00:00 UTC).
    #[arg(long, value_parser = parse_instant)]
    pub to: Option<DateTime<Utc>>,
    /// `csv`, `jsonl` (or `json`), or `envelopes` (the stored envelopes, to
    /// recompute every hash independently).
    #[arg(long, default_value = "csv")]
    pub format: ExportFormat,
    #[command(flatten)]
    pub out: OutArgs,
}

#[derive(Debug, Args)]
pub struct AsOfArgs {
    #[command(flatten)]
    pub log: LogArgs,
    /// The tenant's id.
    #[arg(long)]
    pub tenant: TenantId,
    /// The instant: RFC 3339 (`2026-12-02T09:30:00Z`), or a date (`2026-12-02`,
    /// that day's 00:00 UTC); now when absent.
    #[arg(long, value_parser = parse_instant)]
    pub at: Option<DateTime<Utc>>,
    /// This member's effective permissions (their user id).
    #[arg(
        long,
        conflicts_with = "permission",
        required_unless_present = "permission"
    )]
    pub user: Option<UserId>,
    /// Every member holding this permission (`contacts.delete`).
    #[arg(long)]
    pub permission: Option<String>,
    /// `json` (default) or `csv`.
    #[arg(long, default_value = "json")]
    pub format: String,
    #[command(flatten)]
    pub out: OutArgs,
}

#[derive(Debug, Args)]
pub struct ReviewArgs {
    #[command(flatten)]
    pub log: LogArgs,
    /// The tenant's id.
    #[arg(long)]
    pub tenant: TenantId,
    /// The instant: RFC 3339, or a date (00:00 UTC); now when absent.
    #[arg(long, value_parser = parse_instant)]
    pub at: Option<DateTime<Utc>>,
    /// `csv` (default) or `json`.
    #[arg(long, default_value = "csv")]
    pub format: String,
    #[command(flatten)]
    pub out: OutArgs,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    #[command(flatten)]
    pub log: LogArgs,
    /// The tenant's id.
    #[arg(long)]
    pub tenant: TenantId,
    /// The earlier instant: RFC 3339, or a date (00:00 UTC).
    #[arg(long, value_parser = parse_instant)]
    pub from: DateTime<Utc>,
    /// The later instant: RFC 3339, or a date (00:00 UTC); now when absent.
    #[arg(long, value_parser = parse_instant)]
    pub to: Option<DateTime<Utc>>,
    /// `json` (default) or `jsonl` (one member per line).
    #[arg(long, default_value = "json")]
    pub format: String,
    #[command(flatten)]
    pub out: OutArgs,
}

#[derive(Debug, Args)]
pub struct PubkeyArgs {
    /// The key is `<data-dir>/checkpoint.key` on either backend.
    #[command(flatten)]
    pub log: LogArgs,
    /// The checkpoint key file the gateways sign with, when not in the data dir
    /// (`rollcall serve --checkpoint-key-file`).
    #[arg(long, env = "ROLLCALL_CHECKPOINT_KEY_FILE")]
    pub checkpoint_key_file: Option<PathBuf>,
}

/// An instant on the command line: RFC 3339 (`2026-12-02T09:30:00Z`, or with an
/// offset), or a plain date (`2026-12-02`), which is that day's 00:00 UTC.
pub fn parse_instant(text: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    if let Ok(day) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        && let Some(midnight) = day.and_hms_opt(0, 0, 0)
    {
        return Ok(midnight.and_utc());
    }
    Err(format!(
        "`{text}` is not an instant: give an RFC 3339 instant (2026-12-02T09:30:00Z) \
         or a date (2026-12-02, read as 00:00 UTC)"
    ))
}

/// A failure that stops the command (exit code 2).
struct Failure(String);

impl<E: std::fmt::Display> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure(e.to_string())
    }
}

/// Runs one `replay` subcommand to completion.
pub fn run(args: ReplayArgs) -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("rollcall replay: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(dispatch(args.command)) {
        Ok(code) => code,
        Err(Failure(message)) => {
            eprintln!("rollcall replay: {message}");
            ExitCode::from(2)
        }
    }
}

async fn dispatch(command: ReplayCommand) -> Result<ExitCode, Failure> {
    match command {
        ReplayCommand::Rebuild(a) => rebuild(a).await,
        ReplayCommand::Verify(a) => verify(a).await,
        ReplayCommand::Export(a) => export(a).await,
        ReplayCommand::AsOf(a) => as_of(a).await,
        ReplayCommand::AccessReview(a) => access_review(a).await,
        ReplayCommand::Diff(a) => diff(a).await,
        ReplayCommand::Pubkey(a) => pubkey(a),
    }
}

/// Prints the checkpoint public key. Reads only: with no key where the data dir
/// says, there is no installation there, and a key made up now would sign nothing.
fn pubkey(a: PubkeyArgs) -> Result<ExitCode, Failure> {
    let path = a
        .checkpoint_key_file
        .clone()
        .unwrap_or_else(|| a.log.data_dir.join(crate::checkpoint::KEY_FILE));
    match CheckpointSigner::load(&path) {
        Ok(signer) => {
            println!("{}", signer.public_key_hex());
            Ok(ExitCode::SUCCESS)
        }
        Err(crate::CheckpointError::NoKey { .. }) if a.checkpoint_key_file.is_some() => {
            Err(Failure(format!("no checkpoint key at {}", path.display())))
        }
        Err(crate::CheckpointError::NoKey { .. }) => Err(Failure(format!(
            "no checkpoint key at {}: {} is not the data dir of a Rollcall installation \
             (`rollcall serve` creates the key there on first start); give the data dir \
             `rollcall serve` uses, or --checkpoint-key-file",
            path.display(),
            a.log.data_dir.display()
        ))),
        Err(e) => Err(e.into()),
    }
}

/// Refuses a tenant the log has no event of: answering "nothing" for a mistyped
/// id would pass for an empty, intact trail.
async fn require_tenant(log: &dyn EventLog, tenant: TenantId) -> Result<(), Failure> {
    if log.tenant_head(tenant).await? == 0 {
        return Err(Failure(format!("no such tenant {tenant}")));
    }
    Ok(())
}

async fn open(log: &LogArgs) -> Result<OpenedLog, Failure> {
    log.open().await.map_err(Failure)
}

fn output(out: &OutArgs) -> Result<Box<dyn Write>, Failure> {
    Ok(match &out.out {
        Some(path) => Box::new(BufWriter::new(
            File::create(path).map_err(|e| Failure(format!("{}: {e}", path.display())))?,
        )),
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    })
}

fn write_json(out: &OutArgs, value: &impl Serialize) -> Result<(), Failure> {
    let mut w = output(out)?;
    serde_json::to_writer_pretty(&mut w, value)?;
    writeln!(w)?;
    w.flush()?;
    Ok(())
}

fn stamp() -> String {
    Utc::now().format("%Y%m%dT%H%M%S%.3fZ").to_string()
}

async fn rebuild(a: RebuildArgs) -> Result<ExitCode, Failure> {
    let live = a.log.data_dir.join("projections");
    // A running gateway holds the projections' lock: refuse rather than swap the
    // directory under it.
    if live.exists() {
        drop(sled::open(&live).map_err(|e| {
            Failure(format!(
                "{} is in use ({e}); stop `rollcall serve` before rebuilding",
                live.display()
            ))
        })?);
    }
    let opened = open(&a.log).await?;
    let previous = crate::identity::recorded(&a.log.data_dir)?;
    let stamp = stamp();
    let fresh = a.log.data_dir.join(format!("projections.rebuild-{stamp}"));
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} rebuilding [{bar:40}] position {pos}/{len} ({eta})",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let rebuilt = crate::rebuild::rebuild(opened.log.as_ref(), &fresh, |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    })
    .await;
    bar.finish_and_clear();
    let rebuilt = match rebuilt {
        Ok(r) => r,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&fresh);
            return Err(e.into());
        }
    };
    let old = a.log.data_dir.join(format!("projections.old-{stamp}"));
    if live.exists() {
        std::fs::rename(&live, &old)
            .map_err(|e| Failure(format!("moving {} aside: {e}", live.display())))?;
    }
    std::fs::rename(&fresh, &live)
        .map_err(|e| Failure(format!("switching to {}: {e}", fresh.display())))?;
    println!(
        "rebuilt {} events up to position {} ({} quarantined) into {}",
        rebuilt.events,
        rebuilt.position,
        rebuilt.quarantined,
        live.display()
    );
    if old.exists() {
        println!("previous projections kept in {}", old.display());
    }
    // The data dir now belongs to the log it was rebuilt from. The mailer's
    // state counted positions of the old log: set it aside too, so the mailer
    // starts over on this one.
    if let Some(previous) = previous.filter(|p| *p != opened.identity) {
        let mailer = a.log.data_dir.join("mailer");
        if mailer.exists() {
            let aside = a.log.data_dir.join(format!("mailer.old-{stamp}"));
            std::fs::rename(&mailer, &aside)
                .map_err(|e| Failure(format!("moving {} aside: {e}", mailer.display())))?;
            println!(
                "the mailer's state of the previous log kept in {}",
                aside.display()
            );
        }
        println!(
            "the data dir now follows {} (it followed {previous})",
            opened.identity
        );
    }
    crate::identity::record(&a.log.data_dir, &opened.identity)?;
    println!("state hash {}", rebuilt.state_hash);
    Ok(ExitCode::SUCCESS)
}

/// Reads checkpoints from a file: one object, an array, or `{"checkpoints": [...]}`.
fn read_checkpoints(path: &Path) -> Result<Vec<SignedCheckpoint>, Failure> {
    let text =
        std::fs::read_to_string(path).map_err(|e| Failure(format!("{}: {e}", path.display())))?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| Failure(format!("{}: not JSON: {e}", path.display())))?;
    let value = match value {
        serde_json::Value::Object(mut o) if o.contains_key("checkpoints") => {
            o.remove("checkpoints").unwrap_or_default()
        }
        other => other,
    };
    let list = match value {
        serde_json::Value::Array(items) => items,
        one => vec![one],
    };
    list.into_iter()
        .map(|v| {
            serde_json::from_value(v)
                .map_err(|e| Failure(format!("{}: not a checkpoint: {e}", path.display())))
        })
        .collect()
}

#[derive(Serialize)]
struct VerifyOutput {
    intact: bool,
    tenants: Vec<crate::verify::TenantChain>,
    tampering: Vec<crate::verify::Tampering>,
    checkpoints_checked: Vec<SignedCheckpoint>,
}

async fn verify(a: VerifyArgs) -> Result<ExitCode, Failure> {
    let opened = open(&a.log).await?;
    let mut checkpoints = match &a.checkpoint {
        Some(path) => read_checkpoints(path)?,
        None => Vec::new(),
    };
    if a.stored_checkpoints {
        checkpoints.extend(latest_checkpoints(&opened.checkpoints, a.tenant).await?);
    }
    if let Some(t) = a.tenant {
        checkpoints.retain(|c| c.tenant_id == t);
    }
    for c in &checkpoints {
        if a.public_keys.is_empty() {
            c.verify()
        } else {
            c.verify_trusted_by(&a.public_keys)
        }
        .map_err(|e| Failure(format!("checkpoint of tenant {} refused: {e}", c.tenant_id)))?;
    }
    let log: &dyn EventLog = opened.log.as_ref();
    // A tenant with no events at all is unknown, unless a checkpoint says it had
    // some: then it vanished, and the report says so.
    if let Some(t) = a.tenant
        && checkpoints.is_empty()
    {
        require_tenant(log, t).await?;
    }
    let mut report = verify_log(log, a.tenant, None).await?;
    for c in &checkpoints {
        let with = verify_log(log, Some(c.tenant_id), Some(c)).await?;
        for t in with.tampering {
            if !report.tampering.iter().any(|r| r.tenant == t.tenant) {
                report.tampering.push(t);
            }
        }
        if a.tenant.is_none() && !report.tenants.iter().any(|r| r.tenant_id == c.tenant_id) {
            report.tenants.extend(with.tenants);
        }
    }
    report.tampering.sort_by_key(|t| (t.position, t.tenant));
    let intact = report.tampering.is_empty();
    let mut w = output(&a.out)?;
    if a.format == "json" {
        serde_json::to_writer_pretty(
            &mut w,
            &VerifyOutput {
                intact,
                tenants: report.tenants.clone(),
                tampering: report.tampering.clone(),
                checkpoints_checked: checkpoints.clone(),
            },
        )?;
        writeln!(w)?;
    } else {
        for t in &report.tenants {
            writeln!(
                w,
                "tenant {}: {} events, head {} at position {}, hash {}",
                t.tenant_id, t.events, t.head_seq, t.head_position, t.head_hash
            )?;
        }
        for c in &checkpoints {
            let broken = report.tampering.iter().any(|t| t.tenant == c.tenant_id);
            writeln!(
                w,
                "checkpoint tenant {} event {} signed {}: {}",
                c.tenant_id,
                c.tenant_seq,
                c.signed_at.to_rfc3339(),
                if broken { "NOT confirmed" } else { "confirmed" }
            )?;
        }
        if intact {
            writeln!(w, "ok: {} tenants intact", report.tenants.len())?;
        }
    }
    w.flush()?;
    drop(w);
    if intact {
        return Ok(ExitCode::SUCCESS);
    }
    for t in &report.tampering {
        let kind = serde_json::to_value(&t.kind)
            .ok()
            .and_then(|v| v.get("kind").and_then(|k| k.as_str()).map(str::to_owned))
            .unwrap_or_default();
        eprintln!("TAMPERED at position {} ({kind}): {t}", t.position);
    }
    Ok(ExitCode::from(1))
}

async fn export(a: ExportArgs) -> Result<ExitCode, Failure> {
    let opened = open(&a.log).await?;
    if let Some(t) = a.tenant {
        require_tenant(opened.log.as_ref(), t).await?;
    }
    let filter = ExportFilter {
        tenant: a.tenant,
        user: a.user,
        actor: a.actor,
        types: a.types,
        from: a.from,
        to: a.to,
    };
    let mut w = output(&a.out)?;
    let summary = export_log(opened.log.as_ref(), &filter, a.format, &mut w).await?;
    w.flush()?;
    drop(w);
    if let Some(path) = &a.out.out {
        eprintln!(
            "exported {} of {} events read to {}",
            summary.written,
            summary.scanned,
            path.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Refuses an instant before the tenant's first event: there was no team to show.
fn not_yet(tenant_seq: u64, tenant: TenantId, at: DateTime<Utc>) -> Result<(), Failure> {
    if tenant_seq == 0 {
        return Err(Failure(format!(
            "tenant {tenant} did not exist yet at {}",
            at.to_rfc3339()
        )));
    }
    Ok(())
}

fn history(opened: &OpenedLog) -> TeamHistory {
    TeamHistory::new(Arc::clone(&opened.log), Some(opened.snapshots.clone()))
}

#[derive(Serialize)]
struct HoldersAsOf {
    tenant_id: TenantId,
    at: DateTime<Utc>,
    tenant_seq: u64,
    head_hash: String,
    permission: Permission,
    holders: Vec<crate::as_of::Holder>,
}

fn sources_text(sources: &impl Serialize) -> String {
    serde_json::to_string(sources).unwrap_or_default()
}

async fn as_of(a: AsOfArgs) -> Result<ExitCode, Failure> {
    let opened = open(&a.log).await?;
    require_tenant(opened.log.as_ref(), a.tenant).await?;
    let at = a.at.unwrap_or_else(Utc::now);
    let team = history(&opened).team_at(a.tenant, at).await?;
    not_yet(team.tenant_seq, a.tenant, at)?;
    let csv = match a.format.as_str() {
        "json" => false,
        "csv" => true,
        other => return Err(Failure(format!("unknown format `{other}` (json or csv)"))),
    };
    if let Some(user) = a.user {
        let Some(answer) = EffectiveAsOf::of(&team, a.tenant, user, at) else {
            return Err(Failure(format!(
                "{user} was not a member of tenant {} at {}",
                a.tenant,
                at.to_rfc3339()
            )));
        };
        if csv {
            let mut w = CsvOut::new(output(&a.out)?);
            w.row(["user_id", "status", "permission", "sources"])?;
            for p in &answer.effective {
                w.row([
                    user.to_string(),
                    answer.status.clone(),
                    p.permission.clone(),
                    sources_text(&p.sources),
                ])?;
            }
            w.flush()?;
        } else {
            write_json(&a.out, &answer)?;
        }
    } else {
        let permission = Permission::new(a.permission.unwrap_or_default());
        let holders = crate::as_of::holders(&team, &permission);
        if csv {
            let mut w = CsvOut::new(output(&a.out)?);
            w.row(["user_id", "display_name", "email", "status", "sources"])?;
            for h in &holders {
                w.row([
                    h.user_id.to_string(),
                    h.display_name.clone(),
                    h.email.clone(),
                    h.status.as_str().to_owned(),
                    sources_text(&h.sources),
                ])?;
            }
            w.flush()?;
        } else {
            write_json(
                &a.out,
                &HoldersAsOf {
                    tenant_id: a.tenant,
                    at,
                    tenant_seq: team.tenant_seq,
                    head_hash: team.head_hash.clone(),
                    permission,
                    holders,
                },
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn access_review(a: ReviewArgs) -> Result<ExitCode, Failure> {
    let opened = open(&a.log).await?;
    require_tenant(opened.log.as_ref(), a.tenant).await?;
    let at = a.at.unwrap_or_else(Utc::now);
    let review = history(&opened).access_review(a.tenant, at).await?;
    not_yet(review.tenant_seq, a.tenant, at)?;
    match a.format.as_str() {
        "csv" => {
            let mut w = output(&a.out)?;
            crate::review::review_csv(&review, &mut w)?;
            w.flush()?;
        }
        "json" => write_json(&a.out, &review)?,
        other => return Err(Failure(format!("unknown format `{other}` (csv or json)"))),
    }
    Ok(ExitCode::SUCCESS)
}

async fn diff(a: DiffArgs) -> Result<ExitCode, Failure> {
    let opened = open(&a.log).await?;
    require_tenant(opened.log.as_ref(), a.tenant).await?;
    let to = a.to.unwrap_or_else(Utc::now);
    if a.from > to {
        return Err(Failure("--from is after --to".to_owned()));
    }
    let diff = crate::diff::diff(&history(&opened), a.tenant, a.from, to).await?;
    match a.format.as_str() {
        "json" => write_json(&a.out, &diff)?,
        "jsonl" => {
            let mut w = output(&a.out)?;
            for m in &diff.members {
                serde_json::to_writer(&mut w, m)?;
                writeln!(w)?;
            }
            w.flush()?;
        }
        other => return Err(Failure(format!("unknown format `{other}` (json or jsonl)"))),
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Tool {
        #[command(flatten)]
        log: LogArgs,
    }

    #[test]
    fn the_nats_timeout_reaches_the_log_and_is_bounded() {
        let tool = Tool::try_parse_from([
            "tool",
            "--nats-url",
            "nats://n1:4222",
            "--nats-timeout-ms",
            "1500",
        ])
        .expect("a timeout in range");
        assert_eq!(
            tool.log.location().nats_timeout,
            Some(std::time::Duration::from_millis(1500))
        );
        let tool = Tool::try_parse_from(["tool"]).expect("no flags");
        assert_eq!(tool.log.location().nats_timeout, None);
        for refused in ["99", "60001", "soon"] {
            assert!(
                Tool::try_parse_from(["tool", "--nats-timeout-ms", refused]).is_err(),
                "--nats-timeout-ms {refused} was accepted"
            );
        }
    }
}
