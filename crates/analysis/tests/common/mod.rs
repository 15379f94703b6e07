//! Helpers shared by the equivalence tests (each test file includes this module).

use std::future::Future;

/// A small deterministic generator (xorshift): inputs must be reproducible from the seed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// A value in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Runs `check` to completion on a thread with a 16 MiB stack: DataFusion's planning of nested
/// queries overflows the 2 MiB test-thread stack in debug builds.
pub fn on_big_stack<F, Fut>(check: F)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = ()>,
{
    std::thread::Builder::new()
        .stack_size(16 << 20)
        .spawn(|| {
            tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap()
                .block_on(check())
        })
        .unwrap()
        .join()
        .unwrap();
}
