//! A real authoritative DNS server, in process, on an ephemeral loopback port (UDP and TCP on
//! the same port), whose records a test changes while it runs.
//!
//! Why in process: validation code must be tested against real DNS answers (NXDOMAIN, NODATA,
//! CNAME chains, SERVFAIL) sent over a real socket, without root, a daemon, or the network.
//! One server is authoritative for the whole tree (the root zone), so a test can use any name
//! (`example.com`, `castellan.test`) without setting up delegations.
//!
//! ```no_run
//! # async fn demo() {
//! let dns = castellan_testkit::dns::TestDns::start().await;
//! dns.add_cname("_abc.example.com", "xyz.dcv.castellan.test").await;
//! dns.add_caa("example.com", 0, "issue", "castellan.test").await;
//! let server = dns.addr(); // give this to the resolver under test
//! # }
//! ```

use std::collections::HashSet;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use hickory_server::Server;
use hickory_server::net::runtime::Time;
use hickory_server::proto::op::{Header, HeaderCounts, Metadata, ResponseCode};
use hickory_server::proto::rr::rdata::{A, AAAA, CAA, CNAME, SOA, TXT};
use hickory_server::proto::rr::{LowerName, Name, RData, Record};
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::store::in_memory::InMemoryZoneHandler;
use hickory_server::zone_handler::{AxfrPolicy, Catalog, MessageResponseBuilder, ZoneType};
use tokio::net::{TcpListener, UdpSocket};

/// The TTL of every record the tests add. Short, like the records a DCV user adds.
const TTL: u32 = 60;

/// An authoritative DNS server for the root zone, running on `127.0.0.1:<port>` (UDP and TCP).
/// It stops when dropped.
pub struct TestDns {
    addr: SocketAddr,
    zone: Arc<InMemoryZoneHandler>,
    failing: Arc<RwLock<HashSet<LowerName>>>,
    serial: std::sync::atomic::AtomicU32,
    _server: Server<FailingCatalog>,
}

impl TestDns {
    /// Starts a server with an empty root zone (only its SOA record).
    pub async fn start() -> TestDns {
        let origin = Name::root();
        let zone = InMemoryZoneHandler::empty(origin.clone(), ZoneType::Primary, AxfrPolicy::Deny);
        let soa = SOA::new(
            Name::from_ascii("ns.test.").unwrap(),
            Name::from_ascii("hostmaster.test.").unwrap(),
            1,
            3600,
            600,
            86400,
            // The negative-caching TTL: short, so a resolver that caches NXDOMAIN sees a record
            // added a moment later.
            1,
        );
        assert!(
            zone.upsert(Record::from_rdata(origin.clone(), TTL, RData::SOA(soa)), 1)
                .await
        );
        let zone = Arc::new(zone);

        let mut catalog = Catalog::new();
        catalog.upsert(LowerName::new(&origin), vec![zone.clone()]);
        let failing = Arc::new(RwLock::new(HashSet::new()));
        let handler = FailingCatalog {
            catalog,
            failing: failing.clone(),
        };

        let (udp, tcp) = bind_same_port().await;
        let addr = udp.local_addr().unwrap();
        let mut server = Server::new(handler);
        server.register_socket(udp);
        server.register_listener(tcp, Duration::from_secs(5), 64);

        TestDns {
            addr,
            zone,
            failing,
            serial: std::sync::atomic::AtomicU32::new(2),
            _server: server,
        }
    }

    /// The address (UDP and TCP) to give the resolver under test.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Adds `name A ip`.
    pub async fn add_a(&self, name: &str, ip: Ipv4Addr) {
        self.add(name, RData::A(A(ip))).await;
    }

    /// Adds `name AAAA ip`.
    pub async fn add_aaaa(&self, name: &str, ip: Ipv6Addr) {
        self.add(name, RData::AAAA(AAAA(ip))).await;
    }

    /// Sets `name CNAME target` (a name has at most one CNAME and nothing else beside it).
    pub async fn add_cname(&self, name: &str, target: &str) {
        self.add(name, RData::CNAME(CNAME(fqdn(target)))).await;
    }

    /// Adds `name TXT "value"` (one character-string; values over 255 bytes are split into
    /// several strings of one record, as zone files do).
    pub async fn add_txt(&self, name: &str, value: &str) {
        let strings = value
            .as_bytes()
            .chunks(255)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>();
        self.add(name, RData::TXT(TXT::new(strings))).await;
    }

    /// Adds `name CAA flags tag "value"` with the value exactly as given (not parsed, so a
    /// test can add malformed values and unknown tags). Flags 128 is the critical bit.
    pub async fn add_caa(&self, name: &str, flags: u8, tag: &str, value: &str) {
        let mut caa = CAA::new_issue(false, None, Vec::new());
        caa.issuer_critical = flags & 0b1000_0000 != 0;
        caa.reserved_flags = flags & 0b0111_1111;
        caa.tag = tag.to_owned();
        caa.value = value.as_bytes().to_vec();
        self.add(name, RData::CAA(caa)).await;
    }

    /// Removes every record of `name` (of every type).
    pub async fn remove(&self, name: &str) {
        let name = LowerName::new(&fqdn(name));
        self.zone
            .records_mut()
            .await
            .retain(|key, _| key.name != name);
    }

    /// From now on, every query for `name` (any type) is answered SERVFAIL, as a broken
    /// authoritative server or a failing DNSSEC validation upstream would.
    pub fn fail(&self, name: &str) {
        self.failing
            .write()
            .unwrap()
            .insert(LowerName::new(&fqdn(name)));
    }

    /// Undoes [`TestDns::fail`]: `name` is answered from the zone again.
    pub fn recover(&self, name: &str) {
        self.failing
            .write()
            .unwrap()
            .remove(&LowerName::new(&fqdn(name)));
    }

    async fn add(&self, name: &str, data: RData) {
        let record = Record::from_rdata(fqdn(name), TTL, data);
        let text = record.to_string();
        let serial = self
            .serial
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        assert!(
            self.zone.upsert(record, serial).await,
            "the test DNS server refused {text} (a CNAME cannot share its name)"
        );
    }
}

impl TestDns {
    /// Lets programs outside the test (an ACME client's DNS hook) change records: a TCP
    /// listener on loopback taking one command per line, answering `ok` once it is done:
    /// `txt <name> <value>` adds a TXT record, `cname <name> <target>` a CNAME record,
    /// `clear <name>` removes every record of `<name>`. Returns its port. A shell hook talks to it with bash's `/dev/tcp`:
    ///
    /// ```text
    /// exec 3<>/dev/tcp/127.0.0.1/$PORT; echo "txt $NAME $VALUE" >&3; read -r reply <&3
    /// ```
    pub async fn serve_control(dns: Arc<TestDns>) -> u16 {
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let dns = dns.clone();
                tokio::spawn(async move {
                    let (read, mut write) = stream.into_split();
                    let mut lines = BufReader::new(read).lines();
                    while let Ok(Some(line)) = lines.next_line().await {
                        let mut words = line.split_whitespace();
                        let reply = match (words.next(), words.next(), words.next()) {
                            (Some("txt"), Some(name), Some(value)) => {
                                dns.add_txt(name.trim_end_matches('.'), value).await;
                                "ok\n"
                            }
                            (Some("cname"), Some(name), Some(target)) => {
                                dns.add_cname(name.trim_end_matches('.'), target).await;
                                "ok\n"
                            }
                            (Some("clear"), Some(name), None) => {
                                dns.remove(name.trim_end_matches('.')).await;
                                "ok\n"
                            }
                            _ => {
                                "error: txt <name> <value> | cname <name> <target> | clear <name>\n"
                            }
                        };
                        if write.write_all(reply.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        port
    }
}

/// `name` as a fully qualified name; panics on a name that is not valid DNS.
fn fqdn(name: &str) -> Name {
    let mut parsed = Name::from_utf8(name).unwrap_or_else(|e| panic!("bad DNS name {name}: {e}"));
    parsed.set_fqdn(true);
    parsed
}

/// Binds UDP and TCP to the same ephemeral loopback port (the resolver asks one address over
/// both), retrying when another process holds the TCP side of the port UDP got.
async fn bind_same_port() -> (UdpSocket, TcpListener) {
    for _ in 0..20 {
        let udp = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let port = udp.local_addr().unwrap().port();
        if let Ok(tcp) = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await {
            return (udp, tcp);
        }
    }
    panic!("no loopback port was free for both UDP and TCP after 20 tries");
}

/// The catalog, except for the names a test made fail: those get SERVFAIL.
struct FailingCatalog {
    catalog: Catalog,
    failing: Arc<RwLock<HashSet<LowerName>>>,
}

#[async_trait::async_trait]
impl RequestHandler for FailingCatalog {
    async fn handle_request<R: ResponseHandler, T: Time>(
        &self,
        request: &Request,
        mut response_handle: R,
    ) -> ResponseInfo {
        let fails = {
            let failing = self.failing.read().unwrap();
            request
                .queries
                .queries()
                .iter()
                .any(|q| failing.contains(q.name()))
        };
        if !fails {
            return self
                .catalog
                .handle_request::<R, T>(request, response_handle)
                .await;
        }
        let response = MessageResponseBuilder::new(&request.queries, None)
            .error_msg(&request.metadata, ResponseCode::ServFail);
        match response_handle.send_response(response).await {
            Ok(info) => info,
            Err(_) => {
                let mut metadata = Metadata::response_from_request(&request.metadata);
                metadata.response_code = ResponseCode::ServFail;
                ResponseInfo::from(Header {
                    metadata,
                    counts: HeaderCounts::default(),
                })
            }
        }
    }
}
