//! Domain control validation (guide 6.2): start an order by a method, "Save & Close" (the
//! instructions, no check) or "Submit" (check now), background re-checks of submitted
//! orders, expiry, clearing, and the troubleshooting record of every check.
//!
//! The checks themselves — DNS CNAME / TXT, the HTTP(S) file, CAA — are the VA's
//! (`castellan-va`); e-mail DCV sends a one-time link through the outbox, in the same
//! transaction as the order.

use crate::actor::Actor;
use crate::audit::{self, Change};
use crate::coverage::dcv_name;
use crate::domains::{DcvStatus, dcv_status};
use crate::scope::OrgTree;
use crate::{Authority, RaError, Result, tokens};
use castellan_model::Privilege;
use castellan_store::{DcvRecord, NewEmail};
/// The default of [`ValidationSettings::caa_cache_max`] (and of `validation.caa_cache_seconds`).
pub use castellan_va::DEFAULT_CAA_CACHE_MAX;
use castellan_va::{Fetcher, Resolver, Scheme};
use std::time::Duration;

/// The addresses an e-mail DCV may go to (CA/B BR 3.2.2.4.4), before `@domain`.
pub const EMAIL_LOCAL_PARTS: [&str; 5] = [
    "admin",
    "administrator",
    "hostmaster",
    "postmaster",
    "webmaster",
];

/// A DCV method.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DcvMethod {
    /// DNS CNAME from `_<random>.<domain>` to `<random>.<dcv zone>`.
    Cname,
    /// DNS TXT at `_pki-validation.<domain>`.
    Txt,
    /// A file under `http://<domain>/.well-known/pki-validation/`.
    Http,
    /// The same over HTTPS.
    Https,
    /// A one-time link e-mailed to admin@, hostmaster@, ... of the domain.
    Email,
}

impl DcvMethod {
    /// `CNAME`, `TXT`, `HTTP`, `HTTPS`, `EMAIL`.
    pub fn as_str(self) -> &'static str {
        match self {
            DcvMethod::Cname => "CNAME",
            DcvMethod::Txt => "TXT",
            DcvMethod::Http => "HTTP",
            DcvMethod::Https => "HTTPS",
            DcvMethod::Email => "EMAIL",
        }
    }

    /// Parses the SCM spelling (case-insensitive).
    pub fn parse(s: &str) -> Option<DcvMethod> {
        [
            DcvMethod::Cname,
            DcvMethod::Txt,
            DcvMethod::Http,
            DcvMethod::Https,
            DcvMethod::Email,
        ]
        .into_iter()
        .find(|m| m.as_str().eq_ignore_ascii_case(s))
    }
}

/// How validation reaches the outside, and its periods.
#[derive(Clone, Debug)]
pub struct ValidationSettings {
    /// DNS resolvers to ask (empty: the system's).
    pub dns_servers: Vec<std::net::SocketAddr>,
    /// How long one DNS answer may take.
    pub dns_timeout: Duration,
    /// Whether HTTP validation may contact private and loopback addresses.
    pub allow_private_targets: bool,
    /// Ports for HTTP and HTTPS validation (80 and 443 except in tests).
    pub http_port: u16,
    /// See `http_port`.
    pub https_port: u16,
    /// The zone CNAME targets live under (`<random>.<random>.<dcv_zone>`).
    pub dcv_zone: String,
    /// Castellan's CAA issuer domains; the first is the one suggested in fixes.
    pub caa_identities: Vec<String>,
    /// The longest a CAA answer is reused (for its TTL, never longer); zero asks every time.
    pub caa_cache_max: Duration,
    /// How long a passed DCV counts, in days.
    pub validity_days: i64,
    /// How often submitted orders are checked again, in seconds.
    pub recheck_seconds: i64,
    /// How long a submitted order is re-checked before it lapses, in days.
    pub order_days: i64,
    /// The public URL of the portal (e-mail DCV links point into it).
    pub base_url: String,
}

impl Default for ValidationSettings {
    fn default() -> ValidationSettings {
        ValidationSettings {
            dns_servers: Vec::new(),
            dns_timeout: Duration::from_secs(5),
            allow_private_targets: false,
            http_port: 80,
            https_port: 443,
            dcv_zone: "dcv.castellan.invalid".into(),
            caa_identities: vec!["castellan.invalid".into()],
            caa_cache_max: DEFAULT_CAA_CACHE_MAX,
            validity_days: 365,
            recheck_seconds: 3600,
            order_days: 30,
            base_url: "https://localhost:8443".into(),
        }
    }
}

/// The VA handles and settings an authority validates with.
pub(crate) struct Validation {
    pub(crate) resolver: Resolver,
    pub(crate) fetcher: Fetcher,
    pub(crate) settings: ValidationSettings,
}

impl Validation {
    pub(crate) fn new(settings: ValidationSettings) -> Result<Validation> {
        let resolver = Resolver::new(&castellan_va::ResolverSettings {
            servers: settings.dns_servers.clone(),
            timeout: settings.dns_timeout,
            attempts: 2,
            caa_cache_max: settings.caa_cache_max,
        })
        .map_err(|e| RaError::Internal(format!("DNS resolver: {e}")))?;
        let fetcher = Fetcher::new(
            resolver.clone(),
            castellan_va::FetchSettings {
                allow_private_targets: settings.allow_private_targets,
                http_port: settings.http_port,
                https_port: settings.https_port,
            },
        );
        Ok(Validation {
            resolver,
            fetcher,
            settings,
        })
    }
}

/// What the requester must do (the guide's DCV panel), and how it stands.
#[derive(Clone, Debug)]
pub struct DcvInstructions {
    /// The name being validated.
    pub domain: String,
    /// The method.
    pub method: DcvMethod,
    /// CNAME/TXT: the record's name; HTTP(S): the URL; e-mail: the chosen address.
    pub host: String,
    /// CNAME: the target; TXT: the value; HTTP(S): the file's first line.
    pub point: String,
    /// HTTP(S): the file's second line.
    pub second_line: String,
    /// E-mail: the addresses that may be chosen.
    pub emails: Vec<String>,
}

/// The outcome of a submit or a re-check.
#[derive(Clone, Debug)]
pub struct DcvOutcome {
    /// The stored state afterwards.
    pub record: DcvRecord,
    /// The status afterwards.
    pub status: DcvStatus,
    /// A sentence: passed, or what was expected and found.
    pub message: String,
    /// A CAA warning, when CAA would refuse issuance for the domain.
    pub caa_warning: Option<String>,
}

fn hex_token(rng: &dyn castellan_pki::rand::Rng, bytes: usize) -> Result<String> {
    let mut buf = vec![0u8; bytes];
    rng.fill(&mut buf)?;
    Ok(hex::encode(buf))
}

impl Authority {
    /// The name a DCV concerns, refused unless the actor may manage a domain entry whose
    /// validation it is.
    async fn dcv_domain(&self, actor: &Actor, raw: &str) -> Result<String> {
        actor.require(Privilege::AllowManageDomains, "validate domains")?;
        let name = crate::domains::normalize_domain(raw.trim_start_matches("*."))?;
        let tree = OrgTree::load(&self.store).await?;
        let domains = self.store.domains().await?;
        let entries: Vec<_> = domains
            .iter()
            .filter(|d| dcv_name(&d.name) == name)
            .collect();
        if entries.is_empty() {
            return Err(RaError::NotFound {
                what: "domain",
                key: name,
            });
        }
        let mine = entries.iter().any(|d| {
            actor.is_mrao()
                || d.delegations
                    .iter()
                    .any(|g| actor.covers(&tree, g.org_id, None))
        });
        if !mine {
            return Err(RaError::NotAllowed(format!(
                "domain {name} is not delegated to your organizations or departments"
            )));
        }
        Ok(name)
    }

    fn addresses(domain: &str) -> Vec<String> {
        EMAIL_LOCAL_PARTS
            .iter()
            .map(|l| format!("{l}@{domain}"))
            .collect()
    }

    /// The validation record of `domain` (a fresh one if there is none).
    async fn dcv_record(&self, domain: &str) -> Result<DcvRecord> {
        Ok(self.store.dcv(domain).await?.unwrap_or_else(|| DcvRecord {
            domain: domain.to_owned(),
            order_status: "NOT_INITIATED".into(),
            ..DcvRecord::default()
        }))
    }

    /// Starts an order ("Save & Close"): records the method and new random values and
    /// returns the instructions, without checking. Every start makes new values, so an
    /// HTTP file is never reused (guide 6.2).
    pub async fn dcv_start(
        &self,
        actor: &Actor,
        domain: &str,
        method: DcvMethod,
    ) -> Result<DcvInstructions> {
        let domain = self.dcv_domain(actor, domain).await?;
        let now = self.now();
        let rng = self.rng.as_ref();
        let settings = &self.validation.settings;
        let mut record = self.dcv_record(&domain).await?;
        let (host, point, second_line) = match method {
            DcvMethod::Cname => (
                format!("_{}.{domain}", hex_token(rng, 16)?),
                format!(
                    "{}.{}.{}",
                    hex_token(rng, 16)?,
                    hex_token(rng, 16)?,
                    settings.dcv_zone
                ),
                String::new(),
            ),
            DcvMethod::Txt => (
                format!("_pki-validation.{domain}"),
                hex_token(rng, 16)?,
                String::new(),
            ),
            DcvMethod::Http | DcvMethod::Https => (
                format!(
                    "{}://{domain}/.well-known/pki-validation/{}.txt",
                    if method == DcvMethod::Http {
                        "http"
                    } else {
                        "https"
                    },
                    hex_token(rng, 16)?.to_uppercase()
                ),
                hex_token(rng, 32)?,
                self.second_line(),
            ),
            DcvMethod::Email => (String::new(), String::new(), String::new()),
        };
        record.order_status = "AWAITING_SUBMISSION".into();
        record.method = method.as_str().into();
        record.host = host.clone();
        record.point = point.clone();
        record.submitted_at = None;
        record.next_check = None;
        record.last_result = "Awaiting submission".into();
        record.updated_at = now;
        let mut tx = self.store.begin().await?;
        tx.save_dcv(&record).await?;
        audit::record(
            &mut tx,
            actor,
            now,
            Change {
                action: "dcv.start",
                object_type: "dcv",
                object_id: domain.clone(),
                org_id: None,
                description: format!("DCV of {domain} started by {}", method.as_str()),
            },
            None,
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(DcvInstructions {
            emails: if method == DcvMethod::Email {
                Self::addresses(&domain)
            } else {
                Vec::new()
            },
            domain,
            method,
            host,
            point,
            second_line,
        })
    }

    /// The instructions of a validation started and not yet passed, as they were given
    /// ("come back to SCM, find the domain … and you should be presented with the same
    /// screen"); `None` when none is under way.
    pub async fn dcv_instructions(
        &self,
        actor: &Actor,
        domain: &str,
    ) -> Result<Option<DcvInstructions>> {
        let domain = self.dcv_domain(actor, domain).await?;
        let record = self.dcv_record(&domain).await?;
        let under_way = matches!(
            record.order_status.as_str(),
            "AWAITING_SUBMISSION" | "SUBMITTED"
        );
        let Some(method) = DcvMethod::parse(&record.method).filter(|_| under_way) else {
            return Ok(None);
        };
        let http = matches!(method, DcvMethod::Http | DcvMethod::Https);
        Ok(Some(DcvInstructions {
            emails: if method == DcvMethod::Email {
                Self::addresses(&domain)
            } else {
                Vec::new()
            },
            domain,
            method,
            host: record.host,
            point: record.point,
            second_line: if http {
                self.second_line()
            } else {
                String::new()
            },
        }))
    }

    fn second_line(&self) -> String {
        self.validation
            .settings
            .caa_identities
            .first()
            .cloned()
            .unwrap_or_default()
    }

    /// Submits an order ("Submit"): checks now. A failed check leaves the order
    /// SUBMITTED for the background job to check again. E-mail needs `email`, one of the
    /// offered addresses; the link goes out through the outbox.
    pub async fn dcv_submit(
        &self,
        actor: &Actor,
        domain: &str,
        method: DcvMethod,
        email: Option<&str>,
    ) -> Result<DcvOutcome> {
        let domain = self.dcv_domain(actor, domain).await?;
        let current = self.dcv_record(&domain).await?;
        let needs_start = current.method != method.as_str()
            || current.order_status == "NOT_INITIATED"
            || (method != DcvMethod::Email && current.point.is_empty());
        if needs_start {
            if matches!(
                method,
                DcvMethod::Cname | DcvMethod::Http | DcvMethod::Https
            ) {
                return Err(RaError::Conflict(format!(
                    "no {} order is waiting for {domain}; start one first to get the values to \
                     publish",
                    method.as_str()
                )));
            }
            self.dcv_start(actor, &domain, method).await?;
        }
        let mut record = self.dcv_record(&domain).await?;
        let now = self.now();
        if method == DcvMethod::Email {
            return self.send_dcv_email(actor, record, email, now).await;
        }
        record.order_status = "SUBMITTED".into();
        record.submitted_at = Some(now);
        let outcome = self.check_order(record, now).await?;
        let caa_warning = self.caa_warning(&domain).await;
        let mut tx = self.store.begin().await?;
        audit::record(
            &mut tx,
            actor,
            now,
            Change {
                action: "dcv.submit",
                object_type: "dcv",
                object_id: domain.clone(),
                org_id: None,
                description: format!("DCV of {domain} submitted: {}", outcome.message),
            },
            None,
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(DcvOutcome {
            caa_warning,
            ..outcome
        })
    }

    /// A CAA warning for `domain`, when CAA would refuse Castellan.
    async fn caa_warning(&self, domain: &str) -> Option<String> {
        let decision = castellan_va::check_caa(
            &self.validation.resolver,
            domain,
            false,
            &self.validation.settings.caa_identities,
            None,
            None,
        )
        .await;
        (!decision.allowed).then_some(decision.reason)
    }

    /// Runs the check of a submitted order and stores the result.
    async fn check_order(&self, mut record: DcvRecord, now: i64) -> Result<DcvOutcome> {
        let v = &self.validation;
        let check = match DcvMethod::parse(&record.method) {
            Some(DcvMethod::Cname) => {
                castellan_va::check_cname(&v.resolver, &record.host, &record.point).await
            }
            Some(DcvMethod::Txt) => {
                castellan_va::check_txt(&v.resolver, &record.host, &record.point).await
            }
            Some(method @ (DcvMethod::Http | DcvMethod::Https)) => {
                let file = record
                    .host
                    .rsplit('/')
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                let scheme = if method == DcvMethod::Http {
                    Scheme::Http
                } else {
                    Scheme::Https
                };
                let content = format!("{}\n{}", record.point, self.second_line());
                castellan_va::check_http(&v.fetcher, &record.domain, scheme, &file, &content).await
            }
            _ => {
                return Err(RaError::Internal(format!(
                    "order of {} has no checkable method '{}'",
                    record.domain, record.method
                )));
            }
        };
        record.last_check = Some(now);
        record.transcript = check.transcript.join("\n");
        record.updated_at = now;
        if check.passed {
            record.validated_method = record.method.clone();
            record.validated_at = Some(now);
            record.expires_at = Some(now + v.settings.validity_days * 86_400);
            record.order_status = "NOT_INITIATED".into();
            record.next_check = None;
            record.last_result = format!("Validated: {}", check.detail);
            if matches!(record.method.as_str(), "HTTP" | "HTTPS") {
                // Single use: the next validation needs a new file.
                record.point.clear();
            }
        } else {
            let lapsed = record
                .submitted_at
                .is_some_and(|s| now - s > v.settings.order_days * 86_400);
            if lapsed {
                record.order_status = "NOT_INITIATED".into();
                record.next_check = None;
                record.last_result = format!(
                    "The order lapsed after {} days without passing: {}",
                    v.settings.order_days, check.detail
                );
            } else {
                record.next_check = Some(now + v.settings.recheck_seconds);
                record.last_result = format!("Not validated yet: {}", check.detail);
            }
        }
        let mut tx = self.store.begin().await?;
        tx.save_dcv(&record).await?;
        tx.commit().await?;
        Ok(DcvOutcome {
            status: dcv_status(Some(&record), now),
            message: record.last_result.clone(),
            record,
            caa_warning: None,
        })
    }

    async fn send_dcv_email(
        &self,
        actor: &Actor,
        mut record: DcvRecord,
        email: Option<&str>,
        now: i64,
    ) -> Result<DcvOutcome> {
        let offered = Self::addresses(&record.domain);
        let Some(email) = email.map(|e| e.trim().to_ascii_lowercase()) else {
            return Err(RaError::InvalidInput {
                field: "email",
                reason: format!("choose one of {}", offered.join(", ")),
            });
        };
        if !offered.contains(&email) {
            return Err(RaError::InvalidInput {
                field: "email",
                reason: format!(
                    "'{email}' is not one of the addresses DCV may use: {}",
                    offered.join(", ")
                ),
            });
        }
        let token = tokens::new_token(self.rng.as_ref())?;
        let code = hex_token(self.rng.as_ref(), 4)?.to_uppercase();
        record.order_status = "SUBMITTED".into();
        record.method = "EMAIL".into();
        record.host = email.clone();
        record.point = tokens::digest(&token);
        record.submitted_at = Some(now);
        record.next_check = None;
        record.last_result = format!("Validation e-mail sent to {email}; awaiting the link");
        record.transcript = format!("e-mail queued to {email} (reference {code})");
        record.updated_at = now;
        let link = self.portal_url(&format!("/dcv/email/{}", token.as_str()));
        let mut tx = self.store.begin().await?;
        tx.save_dcv(&record).await?;
        tx.enqueue_email(&NewEmail {
            idempotency_key: format!("dcv-email:{}:{}", record.domain, record.point),
            recipient: email.clone(),
            subject: format!("Domain control validation for {}", record.domain),
            body_text: format!(
                "Someone asked Castellan to confirm that you control {domain}.\n\n\
                 If that was your organisation, open this link and confirm:\n\n  {link}\n\n\
                 Reference: {code}\n\n\
                 The link works once. If you did not expect this message, ignore it: nothing \
                 happens unless the link is followed and confirmed.\n",
                domain = record.domain
            ),
            body_html: String::new(),
            created_at: now,
        })
        .await?;
        audit::record(
            &mut tx,
            actor,
            now,
            Change {
                action: "dcv.submit",
                object_type: "dcv",
                object_id: record.domain.clone(),
                org_id: None,
                description: format!(
                    "DCV of {} submitted by e-mail to {email} (reference {code})",
                    record.domain
                ),
            },
            None,
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(DcvOutcome {
            status: dcv_status(Some(&record), now),
            message: record.last_result.clone(),
            record,
            caa_warning: None,
        })
    }

    /// Follows an e-mail DCV link: validates the domain whose order it belongs to.
    pub async fn dcv_confirm_email(&self, token: &str, address: &str) -> Result<String> {
        let digest = tokens::digest(token);
        let now = self.now();
        let record = self.store.dcvs().await?.into_iter().find(|d| {
            d.method == "EMAIL"
                && d.order_status == "SUBMITTED"
                && crate::constant_time_eq(d.point.as_bytes(), digest.as_bytes())
        });
        let Some(mut record) = record else {
            return Err(RaError::NotAllowed(
                "this validation link is unknown, already used or replaced by a newer one".into(),
            ));
        };
        if record
            .submitted_at
            .is_some_and(|s| now - s > self.validation.settings.order_days * 86_400)
        {
            return Err(RaError::NotAllowed(
                "this validation link has expired; submit the e-mail DCV again".into(),
            ));
        }
        record.validated_method = "EMAIL".into();
        record.validated_at = Some(now);
        record.expires_at = Some(now + self.validation.settings.validity_days * 86_400);
        record.order_status = "NOT_INITIATED".into();
        record.point.clear();
        record.last_check = Some(now);
        record.last_result = format!("Validated: the link sent to {} was followed", record.host);
        record.updated_at = now;
        let actor = Actor {
            login: record.host.clone(),
            address: address.to_owned(),
            ..Actor::system(castellan_model::AccessMethod::Portal)
        };
        let mut tx = self.store.begin().await?;
        tx.save_dcv(&record).await?;
        audit::record(
            &mut tx,
            &actor,
            now,
            Change {
                action: "dcv.validated",
                object_type: "dcv",
                object_id: record.domain.clone(),
                org_id: None,
                description: format!(
                    "Control of {} validated by e-mail to {}",
                    record.domain, record.host
                ),
            },
            None,
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(record.domain)
    }

    /// The validation state of a domain the actor manages.
    pub async fn dcv_state(&self, actor: &Actor, domain: &str) -> Result<(DcvRecord, DcvStatus)> {
        let domain = self.dcv_domain(actor, domain).await?;
        let record = self.dcv_record(&domain).await?;
        let status = dcv_status(Some(&record), self.now());
        Ok((record, status))
    }

    /// Clears a domain's order and validation, so it can be validated afresh.
    pub async fn dcv_clear(&self, actor: &Actor, domain: &str) -> Result<()> {
        let domain = self.dcv_domain(actor, domain).await?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        tx.delete_dcv(&domain).await?;
        audit::record(
            &mut tx,
            actor,
            now,
            Change {
                action: "dcv.clear",
                object_type: "dcv",
                object_id: domain.clone(),
                org_id: None,
                description: format!("DCV of {domain} cleared"),
            },
            None,
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The background job: checks every submitted order that is due again. Returns how many
    /// were checked.
    pub async fn recheck_dcv(&self) -> Result<usize> {
        let now = self.now();
        let due = self.store.due_dcv_checks(now, 100).await?;
        let count = due.len();
        for record in due {
            if record.method == "EMAIL" {
                continue;
            }
            let domain = record.domain.clone();
            match self.check_order(record, now).await {
                Ok(outcome) => {
                    tracing::info!(%domain, status = outcome.status.as_str(), "DCV re-checked")
                }
                Err(e) => tracing::warn!(%domain, error = %e, "DCV re-check failed"),
            }
        }
        Ok(count)
    }
}
