//! scripts/bench's measuring helper: `peak OUT CMD [ARGS...]` runs CMD, waits
//! for it and writes `SECONDS PEAK_KIB EXIT_CODE` to OUT.
//!
//! Why not measure from Python: a child spawned by a Python process shares
//! (vfork) or copies (fork) Python's ~20 MiB of memory until it execs, and
//! the kernel keeps that as the child's peak resident size (ru_maxrss). This
//! helper is small (about 1 MiB resident), so what it adds is small too;
//! the benchmark reports it (`peak` of /bin/true) beside the results.
//!
//! Built with plain rustc (no crates) by scripts/bench.

use std::io::Write as _;
use std::process::Command;
use std::time::Instant;

/// `struct rusage` on Linux (x86_64 and aarch64): two timevals, 14 longs.
#[repr(C)]
struct Rusage {
    utime: [i64; 2],
    stime: [i64; 2],
    maxrss: i64,
    rest: [i64; 13],
}

unsafe extern "C" {
    fn wait4(pid: i32, status: *mut i32, options: i32, usage: *mut Rusage) -> i32;
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [out, command, rest @ ..] = args.as_slice() else {
        eprintln!("usage: peak OUT CMD [ARGS...]");
        std::process::exit(2);
    };
    let started = Instant::now();
    let child = match Command::new(command).args(rest).spawn() {
        Ok(child) => child,
        Err(e) => {
            eprintln!("peak: cannot run {command}: {e}");
            std::process::exit(2);
        }
    };
    let pid = i32::try_from(child.id()).expect("a pid fits in i32");
    let mut status = 0;
    let mut usage = Rusage {
        utime: [0; 2],
        stime: [0; 2],
        maxrss: 0,
        rest: [0; 13],
    };
    // SAFETY: wait4 writes only into the two pointers, which are valid.
    let reaped = unsafe { wait4(pid, &raw mut status, 0, &raw mut usage) };
    let seconds = started.elapsed().as_secs_f64();
    if reaped != pid {
        eprintln!("peak: wait4 failed");
        std::process::exit(2);
    }
    // WEXITSTATUS, or 128 + the signal.
    let code = if status & 0x7f == 0 {
        (status >> 8) & 0xff
    } else {
        128 + (status & 0x7f)
    };
    let mut file = std::fs::File::create(out).expect("the result file");
    writeln!(file, "{seconds:.6} {} {code}", usage.maxrss).expect("write the result");
}
