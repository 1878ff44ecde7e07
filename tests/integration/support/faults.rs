//! A fault-injecting HTTP proxy in front of the emulator: seeded, it answers
//! a share of the AWS API requests with a fault instead of passing them on.
//! The faults, in each service's own error shape:
//! - 500 InternalError;
//! - S3 503 SlowDown, or CloudFront/IAM/STS 400 Throttling, or the
//!   KeyValueStore's 429 ThrottlingException;
//! - a dropped connection (closed before anything is sent on);
//! - a lost answer (the request takes effect, the answer never comes back);
//! - a delay of 1.5 s before the request is passed on.
//!
//! Test plumbing (`/moto-api`, `/maint-api`) and viewer requests (Host
//! `*.cloudfront.net`) always pass. Each connection carries one request
//! (`Connection: close`), so a fault never leaks into the next one.

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fault {
    Error500,
    Throttled,
    Dropped,
    LostAnswer,
    Delayed,
}

const FAULTS: [Fault; 5] = [
    Fault::Error500,
    Fault::Throttled,
    Fault::Dropped,
    Fault::LostAnswer,
    Fault::Delayed,
];

/// A small seeded generator (xorshift64*): the same seed, the same faults in
/// the same order of requests.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let x = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D);
        (x >> 11) as f64 / (1u64 << 53) as f64
    }
}

pub struct FaultProxy {
    pub url: String,
    stop: Arc<AtomicBool>,
    injected: Arc<Mutex<BTreeMap<Fault, usize>>>,
    rate: Arc<Mutex<f64>>,
}

impl FaultProxy {
    /// A proxy to the emulator on `upstream`, faulting a share `rate` of
    /// the API requests, chosen by `seed`.
    pub fn start(upstream: u16, seed: u64, rate: f64) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let port = listener.local_addr().expect("address").port();
        listener.set_nonblocking(true).expect("non-blocking");
        let stop = Arc::new(AtomicBool::new(false));
        let injected = Arc::new(Mutex::new(BTreeMap::new()));
        let rate = Arc::new(Mutex::new(rate));
        let rng = Arc::new(Mutex::new(Rng(seed.max(1))));
        {
            let (stop, injected, rate) = (stop.clone(), injected.clone(), rate.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((client, _)) => {
                            let (injected, rate, rng) =
                                (injected.clone(), rate.clone(), rng.clone());
                            std::thread::spawn(move || {
                                let _ = serve(client, upstream, &rng, &rate, &injected);
                            });
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(2)),
                    }
                }
            });
        }
        Self {
            url: format!("http://127.0.0.1:{port}"),
            stop,
            injected,
            rate,
        }
    }

    /// How many of each fault were injected so far.
    pub fn injected(&self) -> BTreeMap<Fault, usize> {
        self.injected.lock().expect("counts").clone()
    }

    pub fn set_rate(&self, rate: f64) {
        *self.rate.lock().expect("rate") = rate;
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// The request as read: its head (without the final blank line) and body.
struct Request {
    head: String,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (k, v) = line.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    fn path(&self) -> &str {
        self.head.split_whitespace().nth(1).unwrap_or("/")
    }
}

fn read_request(reader: &mut BufReader<TcpStream>) -> std::io::Result<Request> {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        if line == "\r\n" || line == "\n" {
            break;
        }
        head.push_str(&line);
    }
    let mut request = Request {
        head,
        body: Vec::new(),
    };
    if let Some(length) = request.header("content-length") {
        let length: usize = length.parse().unwrap_or(0);
        request.body.resize(length, 0);
        reader.read_exact(&mut request.body)?;
    } else if request
        .header("transfer-encoding")
        .is_some_and(|t| t.eq_ignore_ascii_case("chunked"))
    {
        // Kept as sent (chunked), to pass on unchanged.
        loop {
            let mut size_line = String::new();
            reader.read_line(&mut size_line)?;
            request.body.extend_from_slice(size_line.as_bytes());
            let size = usize::from_str_radix(size_line.trim().split(';').next().unwrap_or("0"), 16)
                .unwrap_or(0);
            if size == 0 {
                // Trailers, then the blank line.
                loop {
                    let mut line = String::new();
                    reader.read_line(&mut line)?;
                    request.body.extend_from_slice(line.as_bytes());
                    if line == "\r\n" || line.is_empty() {
                        break;
                    }
                }
                break;
            }
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk)?;
            request.body.extend_from_slice(&chunk);
        }
    }
    Ok(request)
}

/// The service a request is for, as far as its error's shape goes.
enum Service {
    S3,
    /// CloudFront's control plane, IAM and STS: XML `ErrorResponse`.
    Query,
    /// The KeyValueStore data plane: JSON.
    Kvs,
}

fn service_of(request: &Request) -> Service {
    let path = request.path();
    if path.starts_with("/key-value-stores") {
        Service::Kvs
    } else if path.starts_with("/2020-05-31/") || path == "/" || path.starts_with("/?") {
        Service::Query
    } else {
        Service::S3
    }
}

fn error_response(fault: Fault, service: &Service) -> Vec<u8> {
    let (status, content_type, body) = match (fault, service) {
        (Fault::Error500, Service::Kvs) => (
            "500 Internal Server Error",
            "application/json",
            r#"{"__type":"InternalServerException","message":"We encountered an internal error."}"#
                .to_string(),
        ),
        (Fault::Error500, Service::S3) => (
            "500 Internal Server Error",
            "application/xml",
            "<Error><Code>InternalError</Code><Message>We encountered an internal error. Please \
             try again.</Message></Error>"
                .to_string(),
        ),
        (Fault::Error500, Service::Query) => (
            "500 Internal Server Error",
            "text/xml",
            "<ErrorResponse><Error><Type>Receiver</Type><Code>InternalFailure</Code><Message>\
             We encountered an internal error.</Message></Error></ErrorResponse>"
                .to_string(),
        ),
        (_, Service::S3) => (
            "503 Slow Down",
            "application/xml",
            "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message>\
             </Error>"
                .to_string(),
        ),
        (_, Service::Query) => (
            "400 Bad Request",
            "text/xml",
            "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate \
             exceeded</Message></Error></ErrorResponse>"
                .to_string(),
        ),
        (_, Service::Kvs) => (
            "429 Too Many Requests",
            "application/json",
            r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#.to_string(),
        ),
    };
    let kvs_type = match (fault, service) {
        (Fault::Error500, Service::Kvs) => "x-amzn-ErrorType: InternalServerException\r\n",
        (_, Service::Kvs) => "x-amzn-ErrorType: ThrottlingException\r\n",
        _ => "",
    };
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n{kvs_type}Content-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Passes the request to the emulator and returns its whole answer.
fn pass_on(request: &Request, upstream: u16) -> std::io::Result<Vec<u8>> {
    let mut up = TcpStream::connect(("127.0.0.1", upstream))?;
    up.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut head: Vec<&str> = request
        .head
        .lines()
        .filter(|l| {
            !l.to_ascii_lowercase().starts_with("connection:")
                && !l.to_ascii_lowercase().starts_with("keep-alive:")
        })
        .collect();
    head.push("Connection: close");
    up.write_all(format!("{}\r\n\r\n", head.join("\r\n")).as_bytes())?;
    up.write_all(&request.body)?;
    let mut answer = Vec::new();
    up.read_to_end(&mut answer)?;
    Ok(answer)
}

fn serve(
    client: TcpStream,
    upstream: u16,
    rng: &Mutex<Rng>,
    rate: &Mutex<f64>,
    injected: &Mutex<BTreeMap<Fault, usize>>,
) -> std::io::Result<()> {
    client.set_nonblocking(false)?;
    client.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut reader = BufReader::new(client.try_clone()?);
    let request = read_request(&mut reader)?;
    let mut client = client;
    let plumbing = request.path().starts_with("/moto-api")
        || request.path().starts_with("/maint-api")
        || request.header("host").is_some_and(|h| {
            h.split(':')
                .next()
                .unwrap_or("")
                .ends_with(".cloudfront.net")
        });
    let fault = if plumbing {
        None
    } else {
        let mut rng = rng.lock().expect("rng");
        let rate = *rate.lock().expect("rate");
        (rng.next() < rate).then(|| FAULTS[(rng.next() * FAULTS.len() as f64) as usize])
    };
    if let Some(fault) = fault {
        *injected.lock().expect("counts").entry(fault).or_default() += 1;
    }
    match fault {
        None => {
            let answer = pass_on(&request, upstream)?;
            client.write_all(&answer)?;
        }
        Some(Fault::Delayed) => {
            std::thread::sleep(Duration::from_millis(1500));
            let answer = pass_on(&request, upstream)?;
            client.write_all(&answer)?;
        }
        Some(Fault::Dropped) => {}
        Some(Fault::LostAnswer) => {
            pass_on(&request, upstream)?;
        }
        Some(fault @ (Fault::Error500 | Fault::Throttled)) => {
            client.write_all(&error_response(fault, &service_of(&request)))?;
        }
    }
    let _ = client.flush();
    let _ = client.shutdown(Shutdown::Both);
    Ok(())
}
