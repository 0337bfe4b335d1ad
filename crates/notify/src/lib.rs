//! E-mail delivery. Every message is first written to the outbox (`store`) in the same
//! transaction as the event that causes it; the worker here claims due messages with a
//! lease, one at a time, sends them over SMTP, and on failure retries with exponential backoff, giving up
//! (`DEAD`, shown to administrators) after [`MAX_ATTEMPTS`]. A mail server that is down
//! loses nothing: the messages wait and go when it is back.

pub mod templates;

use castellan_store::{EmailRecord, Store};
use lettre::message::{Mailbox, MultiPart, header};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::future::Future;
use std::time::Duration;
use thiserror::Error;

/// Delivery attempts before a message is given up.
pub const MAX_ATTEMPTS: i64 = 10;
/// The first retry delay; each later one doubles, up to [`MAX_BACKOFF_SECONDS`].
pub const FIRST_BACKOFF_SECONDS: i64 = 60;
/// The longest retry delay.
pub const MAX_BACKOFF_SECONDS: i64 = 3600;
/// How long a claimed message is reserved for one worker: longer than a round of
/// [`ROUND_SECONDS`] plus the slowest send (each SMTP command may wait 20 s), so that no
/// other node takes a message while it is still being sent.
pub const LEASE_SECONDS: i64 = 600;
/// How long one delivery round keeps claiming messages; what is left waits for the next.
pub const ROUND_SECONDS: u64 = 300;

/// Why mail could not be set up or sent.
#[derive(Debug, Error)]
pub enum NotifyError {
    /// The SMTP settings are unusable.
    #[error("invalid SMTP configuration: {0}")]
    Config(String),
    /// A notification template is unusable (named, with the problem).
    #[error("{0}")]
    Template(String),
    /// Building or sending a message failed.
    #[error("{0}")]
    Send(String),
    /// The outbox could not be read or written.
    #[error(transparent)]
    Store(#[from] castellan_store::StoreError),
}

/// How the connection to the mail server is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Security {
    /// Plain SMTP (a relay on the same host or a test server).
    None,
    /// STARTTLS on the submission port (587), required.
    StartTls,
    /// TLS from the start (465).
    Tls,
}

impl Security {
    /// Parses `none`, `starttls` or `tls`.
    pub fn parse(s: &str) -> Option<Security> {
        match s.to_ascii_lowercase().as_str() {
            "none" => Some(Security::None),
            "starttls" => Some(Security::StartTls),
            "tls" => Some(Security::Tls),
            _ => None,
        }
    }
}

/// Where and how to send mail.
#[derive(Clone, Debug)]
pub struct SmtpSettings {
    /// Mail server host.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Transport security.
    pub security: Security,
    /// Login, if the server wants authentication.
    pub username: String,
    /// Password for `username`.
    pub password: String,
    /// The sender (`Castellan <certs@example.ac.uk>`).
    pub from: String,
}

/// Sends outbox messages over SMTP.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    /// A mailer for `settings`.
    pub fn new(settings: &SmtpSettings) -> Result<Mailer, NotifyError> {
        let from: Mailbox = settings.from.parse().map_err(|e| {
            NotifyError::Config(format!("sender '{}' is not an address: {e}", settings.from))
        })?;
        let tls = || {
            TlsParameters::new(settings.host.clone())
                .map_err(|e| NotifyError::Config(format!("TLS for {}: {e}", settings.host)))
        };
        let mut builder =
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(settings.host.as_str())
                .port(settings.port)
                .timeout(Some(Duration::from_secs(20)));
        builder = match settings.security {
            Security::None => builder.tls(Tls::None),
            Security::StartTls => builder.tls(Tls::Required(tls()?)),
            Security::Tls => builder.tls(Tls::Wrapper(tls()?)),
        };
        if !settings.username.is_empty() {
            builder = builder.credentials(Credentials::new(
                settings.username.clone(),
                settings.password.clone(),
            ));
        }
        Ok(Mailer {
            transport: builder.build(),
            from,
        })
    }

    /// Sends one queued message. Its Message-ID is derived from the idempotency key, so a
    /// message sent twice (a crash between sending and recording it) is recognisably the
    /// same message.
    pub async fn send(&self, email: &EmailRecord) -> Result<(), NotifyError> {
        let to: Mailbox = email.email.recipient.parse().map_err(|e| {
            NotifyError::Send(format!(
                "recipient '{}' is not an address: {e}",
                email.email.recipient
            ))
        })?;
        let domain = self.from.email.domain().to_owned();
        let builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(email.email.subject.clone())
            .message_id(Some(format!(
                "<{}@{domain}>",
                email
                    .email
                    .idempotency_key
                    .chars()
                    .map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                        c
                    } else {
                        '.'
                    })
                    .collect::<String>()
            )));
        let message = if email.email.body_html.is_empty() {
            builder
                .header(header::ContentType::TEXT_PLAIN)
                .body(email.email.body_text.clone())
        } else {
            builder.multipart(MultiPart::alternative_plain_html(
                email.email.body_text.clone(),
                email.email.body_html.clone(),
            ))
        }
        .map_err(|e| NotifyError::Send(format!("cannot build the message: {e}")))?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| NotifyError::Send(e.to_string()))
    }
}

/// The delay before attempt `attempts + 1`.
pub fn backoff(attempts: i64) -> i64 {
    let shift = attempts.clamp(0, 20) as u32;
    (FIRST_BACKOFF_SECONDS.saturating_mul(1i64 << shift)).min(MAX_BACKOFF_SECONDS)
}

/// Sends every message that is due at `now` (for up to [`ROUND_SECONDS`]); returns how many
/// were sent. Messages are claimed one at a time, each just before it is sent, so that a
/// mail server that hangs cannot outlast the lease of messages claimed long before: one
/// node's lease never runs out while it still holds the message.
pub async fn deliver_due(store: &Store, mailer: &Mailer, now: i64) -> Result<usize, NotifyError> {
    let started = std::time::Instant::now();
    let mut sent = 0;
    loop {
        if started.elapsed() > Duration::from_secs(ROUND_SECONDS) {
            return Ok(sent);
        }
        let batch = store.claim_emails(now, now + LEASE_SECONDS, 1).await?;
        if batch.is_empty() {
            return Ok(sent);
        }
        for email in batch {
            match mailer.send(&email).await {
                Ok(()) => {
                    store.mark_email_sent(email.id, now).await?;
                    tracing::info!(id = email.id, recipient = %email.email.recipient, "e-mail sent");
                    sent += 1;
                }
                Err(e) => {
                    let attempts = email.attempts + 1;
                    let retry = (attempts < MAX_ATTEMPTS).then(|| now + backoff(email.attempts));
                    store
                        .mark_email_failed(email.id, &e.to_string(), retry)
                        .await?;
                    tracing::warn!(
                        id = email.id,
                        attempts,
                        error = %e,
                        given_up = retry.is_none(),
                        "e-mail not sent"
                    );
                }
            }
        }
    }
}

/// Runs the outbox worker every `interval` until `shutdown` resolves. `now` gives the
/// current time in Unix seconds (injected, so tests can move the clock).
pub async fn run_worker(
    store: Store,
    mailer: Mailer,
    interval: Duration,
    now: impl Fn() -> i64 + Send + 'static,
    shutdown: impl Future<Output = ()> + Send,
) {
    tokio::pin!(shutdown);
    loop {
        if let Err(e) = deliver_due(&store, &mailer, now()).await {
            tracing::warn!(error = %e, "outbox worker: delivery round failed");
        }
        tokio::select! {
            () = &mut shutdown => return,
            () = tokio::time::sleep(interval) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        assert_eq!(backoff(0), 60);
        assert_eq!(backoff(1), 120);
        assert_eq!(backoff(5), 1920);
        assert_eq!(backoff(6), 3600);
        assert_eq!(backoff(30), 3600);
    }
}
