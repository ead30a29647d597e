//! The outside world as seen by evaluated code ([`VmHost`]): the process's real descriptors
//! ([`StdHost`]) or a capture buffer ([`CaptureHost`]). A leaf module.

use std::io::Write;
use std::sync::{Arc, Mutex};

/// The outside world as seen by evaluated code.
pub trait VmHost {
    /// `write(fd, bytes)`: returns the number of bytes written or a negative value on error.
    fn write(&mut self, fd: i32, bytes: &[u8]) -> i64;
    /// `read(fd, buf)`: returns the number of bytes read (0 at the end) or a negative value on
    /// error. By default nothing can be read.
    fn read(&mut self, _fd: i32, _buf: &mut [u8]) -> i64 {
        -1
    }
}

/// Runs `op` on the open file descriptor `fd` without taking ownership of it.
fn with_fd<T>(fd: i32, op: impl FnOnce(&mut std::fs::File) -> std::io::Result<T>) -> std::io::Result<T> {
    use std::os::fd::FromRawFd;
    if fd < 0 {
        return Err(std::io::Error::from(std::io::ErrorKind::InvalidInput));
    }
    // SAFETY: the descriptor is borrowed for one call and never closed here (ManuallyDrop);
    // an invalid descriptor makes the system call fail, which is reported as -1.
    let mut f = std::mem::ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(fd) });
    op(&mut f)
}

/// The default host: fd 1 is the process's stdout, fd 2 its stderr (flushed after each write so
/// ordering with native output is kept); other descriptors are the process's own (files the
/// program opened through comptime FFI or at run time), read and written for real.
#[derive(Default, Debug, Clone, Copy)]
pub struct StdHost;

impl VmHost for StdHost {
    fn write(&mut self, fd: i32, bytes: &[u8]) -> i64 {
        let ok = match fd {
            1 => {
                let mut o = std::io::stdout().lock();
                o.write_all(bytes).and_then(|_| o.flush()).is_ok()
            }
            2 => {
                let mut o = std::io::stderr().lock();
                o.write_all(bytes).and_then(|_| o.flush()).is_ok()
            }
            _ => return with_fd(fd, |f| f.write(bytes)).map(|n| n as i64).unwrap_or(-1),
        };
        if ok {
            bytes.len() as i64
        } else {
            -1
        }
    }
    fn read(&mut self, fd: i32, buf: &mut [u8]) -> i64 {
        use std::io::Read;
        let r = if fd == 0 { std::io::stdin().lock().read(buf) } else { with_fd(fd, |f| f.read(buf)) };
        r.map(|n| n as i64).unwrap_or(-1)
    }
}

/// Captured `(fd, bytes)` writes.
pub type CapturedWrites = Arc<Mutex<Vec<(i32, Vec<u8>)>>>;

/// A host capturing everything written to fds 1 and 2 (in order) into a shared buffer.
#[derive(Default, Debug, Clone)]
pub struct CaptureHost {
    /// `(fd, bytes)` of every successful write.
    pub writes: CapturedWrites,
}

impl CaptureHost {
    /// A host with an empty capture buffer.
    pub fn new() -> CaptureHost {
        CaptureHost::default()
    }
    /// Everything written to `fd`, concatenated.
    pub fn output(&self, fd: i32) -> Vec<u8> {
        let w = self.writes.lock().unwrap_or_else(|e| e.into_inner());
        w.iter().filter(|(f, _)| *f == fd).flat_map(|(_, b)| b.iter().copied()).collect()
    }
}

impl VmHost for CaptureHost {
    fn write(&mut self, fd: i32, bytes: &[u8]) -> i64 {
        if fd != 1 && fd != 2 {
            return -1;
        }
        let mut w = self.writes.lock().unwrap_or_else(|e| e.into_inner());
        w.push((fd, bytes.to_vec()));
        bytes.len() as i64
    }
}
