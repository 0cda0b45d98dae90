//! `duel`: closed-loop HTTP/1.1 load on several Envoys in turn, switching
//! every `--phase-ms` milliseconds, so that the variants share the same
//! moments of a machine whose speed drifts.
//!
//! ```text
//! duel --connections 16 --phase-ms 100 --seconds 60 --token-file hot.tokens \
//!      --target passthrough=127.0.0.1:20031=PID --target hot=127.0.0.1:20041=PID
//! ```
//!
//! A target may name its own token file as a fourth part
//! (`NAME=HOST:PORT=PID=FILE`, e.g. a plain JWS for `jwt_authn`).
//!
//! Each of `--connections` threads keeps one keep-alive connection to every
//! target and sends its requests to the target of the current phase. The
//! phases go round the targets in a fresh random order each cycle. For
//! each phase it records the requests completed and the CPU time of that
//! target's Envoy (all threads, from `/proc/PID/task/*/schedstat`, in
//! nanoseconds); for each request its latency. The output (one JSON
//! object) gives, per target, the median over cycles of its requests/s and
//! CPU per request divided by the first target's in the same cycle, with
//! an approximate 95 % confidence interval of that median, and p50/p99
//! latency over all its requests.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// One Envoy under test.
struct Target {
    name: String,
    addr: String,
    pid: u32,
    /// Its token, when not the default one.
    token: Option<String>,
}

struct Args {
    targets: Vec<Target>,
    connections: usize,
    phase: Duration,
    seconds: u64,
    token: String,
    warmup: Duration,
}

fn usage(why: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("{why}\nusage: duel --target NAME=HOST:PORT=PID[=TOKEN_FILE] (2 or more; the first is the reference) --token-file FILE [--connections 16] [--phase-ms 100] [--seconds 60]"),
    )
}

fn parse_args() -> io::Result<Args> {
    let mut args = Args {
        targets: Vec::new(),
        connections: 16,
        phase: Duration::from_millis(100),
        seconds: 60,
        token: String::new(),
        warmup: Duration::from_secs(2),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it
            .next()
            .ok_or_else(|| usage(&format!("{flag} needs a value")))?;
        let number = |v: &str| {
            v.parse::<u64>()
                .map_err(|_| usage(&format!("{flag}: not a number: {v}")))
        };
        match flag.as_str() {
            "--target" => {
                let mut parts = value.splitn(4, '=');
                let (Some(name), Some(addr), Some(pid)) =
                    (parts.next(), parts.next(), parts.next())
                else {
                    return Err(usage(&format!(
                        "--target {value}: expected NAME=HOST:PORT=PID[=TOKEN_FILE]"
                    )));
                };
                let pid = pid
                    .parse()
                    .map_err(|_| usage(&format!("--target {value}: bad PID")))?;
                let token = parts.next().map(first_line).transpose()?;
                args.targets.push(Target {
                    token,
                    name: name.into(),
                    addr: addr.into(),
                    pid,
                });
            }
            "--connections" => args.connections = number(&value)?.max(1) as usize,
            "--phase-ms" => args.phase = Duration::from_millis(number(&value)?.max(1)),
            "--seconds" => args.seconds = number(&value)?.max(1),
            "--warmup-seconds" => args.warmup = Duration::from_secs(number(&value)?),
            "--token-file" => args.token = first_line(&value)?,
            _ => return Err(usage(&format!("unknown flag {flag}"))),
        }
    }
    if args.targets.len() < 2 {
        return Err(usage("at least two targets"));
    }
    if args.token.is_empty() && args.targets.iter().any(|t| t.token.is_none()) {
        return Err(usage("--token-file: no token"));
    }
    Ok(args)
}

/// The first line of a token file.
fn first_line(path: &str) -> io::Result<String> {
    let text = std::fs::read_to_string(path)?;
    Ok(text.lines().next().unwrap_or_default().trim().to_string())
}

/// CPU time of every thread of `pid`, in nanoseconds.
fn cpu_ns(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .filter_map(Result::ok)
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| {
            s.split_whitespace()
                .next()
                .and_then(|v| v.parse::<u64>().ok())
        })
        .sum()
}

/// One keep-alive connection.
struct Conn {
    reader: BufReader<TcpStream>,
}

impl Conn {
    fn open(addr: &str) -> io::Result<Conn> {
        let stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        Ok(Conn {
            reader: BufReader::new(stream),
        })
    }

    /// Send `request`; read the response; true when its status is 2xx.
    fn round_trip(&mut self, request: &[u8]) -> io::Result<bool> {
        self.reader.get_mut().write_all(request)?;
        let mut line = String::new();
        self.reader.read_line(&mut line)?;
        let ok = line
            .split_whitespace()
            .nth(1)
            .is_some_and(|s| s.starts_with('2'));
        let mut length = 0usize;
        loop {
            line.clear();
            if self.reader.read_line(&mut line)? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body)?;
        Ok(ok)
    }
}

/// Shared between the load threads and the clock thread.
struct State {
    /// Index of the current phase's target.
    current: AtomicUsize,
    /// Phases are being recorded (false during the warm-up).
    recording: AtomicBool,
    stop: AtomicBool,
    /// Completed requests per target, counted only while it is the
    /// current target; never reset (phases take differences).
    done: Vec<AtomicU64>,
    non_2xx: AtomicU64,
    /// Connections that failed and were reopened.
    reconnects: AtomicU64,
    /// Latencies in microseconds, per target (recorded phases only).
    latencies: Vec<Mutex<Vec<u32>>>,
}

fn load(state: &State, targets: &[String], requests: &[Vec<u8>]) -> io::Result<()> {
    let mut conns = targets
        .iter()
        .map(|a| Conn::open(a))
        .collect::<io::Result<Vec<_>>>()?;
    let mut mine: Vec<Vec<u32>> = vec![Vec::new(); targets.len()];
    while !state.stop.load(Ordering::Relaxed) {
        let t = state.current.load(Ordering::Relaxed);
        let (Some(conn), Some(request)) = (conns.get_mut(t), requests.get(t)) else {
            break;
        };
        let start = Instant::now();
        let ok = match conn.round_trip(request) {
            Ok(ok) => ok,
            Err(_) => {
                // Envoy closed it (or a read timed out): reopen and go on,
                // rather than lose the run; counted in the output.
                state.reconnects.fetch_add(1, Ordering::Relaxed);
                match targets.get(t).map(|a| Conn::open(a)) {
                    Some(Ok(fresh)) => *conn = fresh,
                    _ => thread::sleep(Duration::from_millis(10)),
                }
                continue;
            }
        };
        let micros = u32::try_from(start.elapsed().as_micros()).unwrap_or(u32::MAX);
        // Counted for the phase it completes in only if still that phase.
        if state.current.load(Ordering::Relaxed) == t {
            if let Some(d) = state.done.get(t) {
                d.fetch_add(1, Ordering::Relaxed);
            }
            if state.recording.load(Ordering::Relaxed) {
                if let Some(v) = mine.get_mut(t) {
                    v.push(micros);
                }
            }
        }
        if !ok {
            state.non_2xx.fetch_add(1, Ordering::Relaxed);
        }
    }
    for (all, v) in state.latencies.iter().zip(mine) {
        if let Ok(mut all) = all.lock() {
            all.extend(v);
        }
    }
    Ok(())
}

/// A small xorshift generator for the phase order (no crate needed).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }
}

fn median_ci(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        return (f64::NAN, f64::NAN, f64::NAN);
    }
    let mid = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    // Order statistics around the median: an approximate 95 % interval.
    let k = ((n as f64) / 2.0 - 1.96 * (n as f64).sqrt() / 2.0)
        .floor()
        .max(0.0) as usize;
    (mid, v[k], v[(n - 1 - k).min(n - 1)])
}

/// A JSON number with `places` decimals, or `null` when not finite.
fn num(v: f64, places: usize) -> String {
    if v.is_finite() {
        format!("{v:.places$}")
    } else {
        "null".into()
    }
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted[i.min(sorted.len() - 1)]) / 1000.0
}

fn main() -> io::Result<()> {
    let args = parse_args()?;
    let n = args.targets.len();
    let requests: Vec<Vec<u8>> = args
        .targets
        .iter()
        .map(|t| {
            let token = t.token.as_deref().unwrap_or(&args.token);
            format!("GET /orders HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}\r\n\r\n")
                .into_bytes()
        })
        .collect();
    let state = Arc::new(State {
        current: AtomicUsize::new(0),
        recording: AtomicBool::new(false),
        stop: AtomicBool::new(false),
        done: (0..n).map(|_| AtomicU64::new(0)).collect(),
        non_2xx: AtomicU64::new(0),
        reconnects: AtomicU64::new(0),
        latencies: (0..n).map(|_| Mutex::new(Vec::new())).collect(),
    });
    let addrs: Vec<String> = args.targets.iter().map(|t| t.addr.clone()).collect();
    let workers: Vec<_> = (0..args.connections)
        .map(|_| {
            let (state, addrs, requests) = (Arc::clone(&state), addrs.clone(), requests.clone());
            thread::spawn(move || load(&state, &addrs, &requests))
        })
        .collect();

    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64)
        | 1;
    let mut rng = Rng(seed);
    // Warm-up: every target in turn, not recorded.
    let warm_end = Instant::now() + args.warmup;
    let mut t = 0;
    while Instant::now() < warm_end {
        state.current.store(t % n, Ordering::Relaxed);
        thread::sleep(args.phase);
        t += 1;
    }
    state.recording.store(true, Ordering::Relaxed);
    // cycles[c][target] = (requests/s, CPU ns per request)
    let mut cycles: Vec<Vec<(f64, f64)>> = Vec::new();
    let end = Instant::now() + Duration::from_secs(args.seconds);
    while Instant::now() < end {
        let mut order: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            order.swap(i, rng.below(i + 1));
        }
        let mut cycle = vec![(0.0, 0.0); n];
        for &t in &order {
            state.current.store(t, Ordering::Relaxed);
            // The request count is read just inside the CPU readings, so
            // both cover the same window (give or take one /proc scan).
            let cpu0 = cpu_ns(args.targets[t].pid);
            let done0 = state.done[t].load(Ordering::Relaxed);
            let t0 = Instant::now();
            thread::sleep(args.phase);
            let requests = state.done[t].load(Ordering::Relaxed).saturating_sub(done0) as f64;
            let seconds = t0.elapsed().as_secs_f64();
            let cpu = cpu_ns(args.targets[t].pid).saturating_sub(cpu0) as f64;
            cycle[t] = (requests / seconds, cpu / requests.max(1.0));
        }
        // A cycle whose reference phase saw no request or no CPU time
        // (a stall, an unreadable /proc) has no ratio: left out.
        if cycle[0].0 > 0.0 && cycle[0].1 > 0.0 {
            cycles.push(cycle);
        }
    }
    state.stop.store(true, Ordering::Relaxed);
    for w in workers {
        match w.join() {
            Ok(r) => r?,
            Err(_) => return Err(io::Error::other("a load thread panicked")),
        }
    }

    let mut out = String::from("{\n");
    out += &format!(
        " \"phase_ms\": {}, \"cycles\": {}, \"connections\": {}, \"non_2xx\": {}, \"reconnects\": {},\n \"targets\": [\n",
        args.phase.as_millis(),
        cycles.len(),
        args.connections,
        state.non_2xx.load(Ordering::Relaxed),
        state.reconnects.load(Ordering::Relaxed)
    );
    for (i, target) in args.targets.iter().enumerate() {
        let rps = median_ci(cycles.iter().map(|c| c[i].0).collect());
        let cpu = median_ci(cycles.iter().map(|c| c[i].1 / 1000.0).collect());
        let rps_ratio = median_ci(cycles.iter().map(|c| c[i].0 / c[0].0).collect());
        let cpu_ratio = median_ci(cycles.iter().map(|c| c[i].1 / c[0].1).collect());
        let mut lat = state.latencies[i]
            .lock()
            .map(|v| v.clone())
            .unwrap_or_default();
        lat.sort_unstable();
        let triple = |(m, lo, hi): (f64, f64, f64)| {
            format!("[{}, {}, {}]", num(m, 4), num(lo, 4), num(hi, 4))
        };
        out += &format!(
            "  {{\"name\": \"{}\", \"rps\": {}, \"cpu_us_per_request\": {}, \"p50_ms\": {}, \"p99_ms\": {}, \"requests\": {}, \"rps_ratio\": {}, \"cpu_ratio\": {}}}{}\n",
            target.name.replace(['"', '\\'], "_"),
            num(rps.0, 0),
            num(cpu.0, 2),
            num(percentile(&lat, 0.5), 3),
            num(percentile(&lat, 0.99), 3),
            lat.len(),
            triple(rps_ratio),
            triple(cpu_ratio),
            if i + 1 < n { "," } else { "" }
        );
    }
    out += " ]\n}\n";
    print!("{out}");
    Ok(())
}
