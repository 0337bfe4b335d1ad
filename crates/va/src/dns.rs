//! A stub resolver for validation: it asks the configured recursive resolvers (or the system's)
//! and writes down every question and answer, so a failed check can show the administrator
//! exactly what Castellan saw.
//!
//! DCV answers are never cached: a DCV user who has just added a record clicks "check again"
//! and must see it. CAA answers are reused for their TTL, at most `caa_cache_max`
//! ([`reuse`]). The recursive resolver in front (Unbound, in production) does the DNSSEC
//! validation.
//!
//! NXDOMAIN and NODATA are answers ("there is no such record") and come back as empty results.
//! SERVFAIL, REFUSED and timeouts are [`Error::LookupFailed`]: nobody knows what the records
//! are. DCV treats that as "not validated yet"; CAA treats it as a refusal (see
//! [`crate::caa`]).

use std::collections::HashSet;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts,
};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{Name, RData, Record, RecordType};

use crate::error::{Error, Result};
use crate::names;

mod reuse;
pub use reuse::Reused;

/// The most CNAME hops [`Resolver::cname_chain`] follows. Real delegations use one or two;
/// eight is what common resolvers allow before giving up.
pub const MAX_CNAME_HOPS: usize = 8;

/// How long a CAA answer is reused at most unless configured otherwise
/// (`validation.caa_cache_seconds`).
pub const DEFAULT_CAA_CACHE_MAX: Duration = Duration::from_secs(300);

/// Where and how the resolver asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolverSettings {
    /// Recursive resolvers to ask, over UDP and TCP. Empty: the system's (`/etc/resolv.conf`).
    pub servers: Vec<SocketAddr>,
    /// How long to wait for one answer.
    pub timeout: Duration,
    /// How many times to retry a question that got no answer.
    pub attempts: usize,
    /// The longest a CAA answer is reused (it is reused for its TTL, never longer than
    /// this); zero asks again every time.
    pub caa_cache_max: Duration,
}

impl Default for ResolverSettings {
    fn default() -> Self {
        ResolverSettings {
            servers: Vec::new(),
            timeout: Duration::from_secs(5),
            attempts: 2,
            caa_cache_max: DEFAULT_CAA_CACHE_MAX,
        }
    }
}

/// The answer to a lookup, with how it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup<T> {
    /// The answer.
    pub value: T,
    /// The CNAME targets the resolver followed to reach the answer, in order (lower case, no
    /// trailing dot). Empty when the name held the records itself.
    pub aliases: Vec<String>,
    /// What was asked, of which resolver, and what came back: one line each.
    pub transcript: Vec<String>,
    /// Set when the answer is one given earlier, reused within its TTL (CAA only).
    pub reused: Option<Reused>,
}

/// One CAA record as published (RFC 8659 §4.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaaRecord {
    /// The issuer-critical flag (flags 128).
    pub critical: bool,
    /// The property tag, as published (tags compare case-insensitively).
    pub tag: String,
    /// The property value, as published, e.g. `sectigo.com; accounturi=https://…`.
    pub value: String,
}

impl fmt::Display for CaaRecord {
    /// The zone-file presentation, e.g. `0 issue "castellan.example"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let flags = if self.critical { 128 } else { 0 };
        write!(f, "{flags} {} \"{}\"", self.tag, self.value)
    }
}

/// A validation resolver. Cheap to clone; clones share connections.
#[derive(Clone)]
pub struct Resolver {
    inner: TokioResolver,
    /// The servers asked, as shown in transcripts.
    servers: Arc<str>,
    /// CAA answers reused within their TTL.
    caa_answers: Arc<reuse::CaaAnswers>,
}

impl fmt::Debug for Resolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resolver")
            .field("servers", &self.servers)
            .finish_non_exhaustive()
    }
}

impl Resolver {
    /// A resolver asking `settings.servers`, or the system's resolvers when that is empty.
    pub fn new(settings: &ResolverSettings) -> Result<Resolver> {
        let (config, mut options) = if settings.servers.is_empty() {
            hickory_resolver::system_conf::read_system_conf()
                .map_err(|e| Error::ResolverSetup(e.to_string()))?
        } else {
            let servers = settings.servers.iter().map(|addr| server(*addr)).collect();
            (
                ResolverConfig::from_name_servers(servers),
                ResolverOpts::default(),
            )
        };
        let shown = describe(&config);
        options.timeout = settings.timeout;
        options.attempts = settings.attempts;
        // No cache in the resolver: see the module documentation. The TTLs are left as
        // published (not clamped), for the CAA answers Castellan keeps itself.
        options.cache_size = 0;
        // /etc/hosts says nothing about who controls a domain.
        options.use_hosts_file = ResolveHosts::Never;
        // Keep the CNAME records in answers, for `Lookup::aliases` and the transcript.
        options.preserve_intermediates = true;
        options.try_tcp_on_error = true;
        let inner = TokioResolver::builder_with_config(config, TokioRuntimeProvider::default())
            .with_options(options)
            .build()
            .map_err(|e| Error::ResolverSetup(e.to_string()))?;
        Ok(Resolver {
            inner,
            servers: shown.into(),
            caa_answers: Arc::new(reuse::CaaAnswers::new(settings.caa_cache_max)),
        })
    }

    /// The servers this resolver asks, as transcripts show them.
    pub fn servers(&self) -> &str {
        &self.servers
    }

    /// The CNAME chain starting at `name`: each target in order (lower case, no trailing dot),
    /// empty when `name` is not a CNAME. Each hop is asked separately (a CNAME query is never
    /// chased by the resolver), so the transcript shows every step.
    pub async fn cname_chain(&self, name: &str) -> Result<Lookup<Vec<String>>> {
        let start = names::normalize(name);
        let mut current = names::fqdn(name)?;
        let mut seen = HashSet::from([start.clone()]);
        let mut chain: Vec<String> = Vec::new();
        let mut transcript = Vec::new();
        loop {
            let records = self
                .ask(&current, RecordType::CNAME, &mut transcript)
                .await?;
            let Some(target) = records.iter().find_map(|r| match &r.data {
                RData::CNAME(target) if r.name == current => Some(target.0.clone()),
                _ => None,
            }) else {
                return Ok(Lookup {
                    value: chain,
                    aliases: Vec::new(),
                    transcript,
                    reused: None,
                });
            };
            let shown = names::show(&target);
            if !seen.insert(shown.clone()) {
                return Err(Error::CnameLoop {
                    name: start,
                    repeated: shown,
                    transcript,
                });
            }
            if chain.len() == MAX_CNAME_HOPS {
                return Err(Error::CnameChainTooLong {
                    name: start,
                    max: MAX_CNAME_HOPS,
                    transcript,
                });
            }
            chain.push(shown);
            current = target;
        }
    }

    /// The TXT records at `name` (following CNAMEs), one string per record: a record's
    /// character-strings are joined, as a value longer than 255 bytes must be split into
    /// several of them.
    pub async fn txt(&self, name: &str) -> Result<Lookup<Vec<String>>> {
        let mut transcript = Vec::new();
        let records = self
            .ask(&names::fqdn(name)?, RecordType::TXT, &mut transcript)
            .await?;
        let value = records
            .iter()
            .filter_map(|r| match &r.data {
                RData::TXT(txt) => Some(
                    txt.txt_data
                        .iter()
                        .map(|s| String::from_utf8_lossy(s))
                        .collect::<String>(),
                ),
                _ => None,
            })
            .collect();
        Ok(Lookup {
            value,
            aliases: aliases(&records),
            transcript,
            reused: None,
        })
    }

    /// The CAA RRset at `name` (following CNAMEs, as RFC 8659 §3 says the DNS does). Only this
    /// name: climbing toward the root is [`crate::caa::check_caa`]'s job. An answer given
    /// less than its TTL ago (and less than `caa_cache_max`) is reused, and says so.
    pub async fn caa(&self, name: &str) -> Result<Lookup<Vec<CaaRecord>>> {
        let fqdn = names::fqdn(name)?;
        let key = names::normalize(name);
        if let Some(kept) = self.caa_answers.get(&key) {
            return Ok(kept);
        }
        let mut transcript = Vec::new();
        let (records, ttl) = self
            .ask_with_ttl(&fqdn, RecordType::CAA, &mut transcript)
            .await?;
        let value = records
            .iter()
            .filter_map(|r| match &r.data {
                RData::CAA(caa) => Some(CaaRecord {
                    critical: caa.issuer_critical,
                    tag: caa.tag.clone(),
                    // A value that is not UTF-8 cannot be a valid issuer value; the lossy
                    // form keeps it visible and still fails to parse, which denies.
                    value: String::from_utf8_lossy(&caa.value).into_owned(),
                }),
                _ => None,
            })
            .collect();
        let lookup = Lookup {
            value,
            aliases: aliases(&records),
            transcript,
            reused: None,
        };
        if let Some(ttl) = ttl {
            self.caa_answers.keep(key, &lookup, ttl);
        }
        Ok(lookup)
    }

    /// The IPv4 and IPv6 addresses of `name` (following CNAMEs). A failure of one family is
    /// tolerated when the other gives addresses; it is an error only when nothing was found.
    pub async fn ips(&self, name: &str) -> Result<Lookup<Vec<IpAddr>>> {
        let name = names::fqdn(name)?;
        let mut transcript = Vec::new();
        let mut value = Vec::new();
        let mut records = Vec::new();
        let mut failure = None;
        for rtype in [RecordType::A, RecordType::AAAA] {
            match self.ask(&name, rtype, &mut transcript).await {
                Ok(found) => records.extend(found),
                Err(e) => failure = failure.or(Some(e)),
            }
        }
        for record in &records {
            match record.data {
                RData::A(a) => value.push(IpAddr::V4(a.0)),
                RData::AAAA(aaaa) => value.push(IpAddr::V6(aaaa.0)),
                _ => {}
            }
        }
        if let (true, Some(failure)) = (value.is_empty(), failure) {
            return Err(match failure {
                Error::LookupFailed { query, reason, .. } => Error::LookupFailed {
                    query,
                    reason,
                    transcript,
                },
                other => other,
            });
        }
        Ok(Lookup {
            value,
            aliases: aliases(&records),
            transcript,
            reused: None,
        })
    }

    /// Asks one question, writes it and its answer into `transcript`, and returns the answer
    /// records (empty for NXDOMAIN and NODATA).
    async fn ask(
        &self,
        name: &Name,
        rtype: RecordType,
        transcript: &mut Vec<String>,
    ) -> Result<Vec<Record>> {
        Ok(self.ask_with_ttl(name, rtype, transcript).await?.0)
    }

    /// [`Resolver::ask`], with how long the answer may be relied on: the smallest TTL of the
    /// answer's records (CNAMEs included), or for NXDOMAIN and NODATA the zone's negative
    /// TTL; `None` when the answer gave none.
    async fn ask_with_ttl(
        &self,
        name: &Name,
        rtype: RecordType,
        transcript: &mut Vec<String>,
    ) -> Result<(Vec<Record>, Option<Duration>)> {
        let query = format!("{rtype} {name}");
        transcript.push(format!("asked {} for {query}", self.servers));
        match self.inner.lookup(name.clone(), rtype).await {
            Ok(lookup) => {
                let answers = lookup.answers().to_vec();
                if answers.is_empty() {
                    transcript.push(format!("  no {rtype} records"));
                }
                let ttl = answers.iter().map(|r| r.ttl).min();
                for record in &answers {
                    transcript.push(format!(
                        "  answer: {} {} {}",
                        record.name,
                        record.record_type(),
                        record.data
                    ));
                }
                Ok((answers, ttl.map(|t| Duration::from_secs(t.into()))))
            }
            Err(NetError::Dns(DnsError::NoRecordsFound(none))) => {
                transcript.push(if none.response_code == ResponseCode::NXDomain {
                    "  NXDOMAIN: the name does not exist".to_owned()
                } else {
                    format!("  no {rtype} records (the name exists)")
                });
                let ttl = none.negative_ttl.map(|t| Duration::from_secs(t.into()));
                Ok((Vec::new(), ttl))
            }
            Err(e) => {
                let reason = failure(&e);
                transcript.push(format!("  failed: {reason}"));
                Err(Error::LookupFailed {
                    query,
                    reason,
                    transcript: transcript.clone(),
                })
            }
        }
    }
}

/// Why a question got no answer, in the words of `dig` (SERVFAIL, REFUSED), which is what an
/// administrator will search for.
fn failure(error: &NetError) -> String {
    match error {
        NetError::Dns(DnsError::ResponseCode(code)) => {
            let name = match *code {
                ResponseCode::ServFail => "SERVFAIL".to_owned(),
                ResponseCode::Refused => "REFUSED".to_owned(),
                ResponseCode::FormErr => "FORMERR".to_owned(),
                ResponseCode::NotImp => "NOTIMP".to_owned(),
                other => other.to_string(),
            };
            format!("the DNS server answered {name}")
        }
        other => other.to_string(),
    }
}

/// One upstream server, asked over UDP and over TCP (for truncated answers) on its port.
fn server(addr: SocketAddr) -> NameServerConfig {
    let mut udp = ConnectionConfig::udp();
    udp.port = addr.port();
    let mut tcp = ConnectionConfig::tcp();
    tcp.port = addr.port();
    NameServerConfig::new(addr.ip(), true, vec![udp, tcp])
}

/// The servers of a configuration as a transcript shows them: `127.0.0.1:53, [::1]:53`.
fn describe(config: &ResolverConfig) -> String {
    let shown: Vec<String> = config
        .name_servers()
        .iter()
        .map(|ns| {
            let port = ns.connections.first().map_or(53, |c| c.port);
            SocketAddr::new(ns.ip, port).to_string()
        })
        .collect();
    if shown.is_empty() {
        "no DNS server".to_owned()
    } else {
        shown.join(", ")
    }
}

/// The CNAME targets in an answer, in order.
fn aliases(records: &[Record]) -> Vec<String> {
    records
        .iter()
        .filter_map(|r| match &r.data {
            RData::CNAME(target) => Some(names::show(&target.0)),
            _ => None,
        })
        .collect()
}
