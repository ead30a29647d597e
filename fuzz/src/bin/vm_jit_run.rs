//! Stand-alone runner of the `vm_jit` differential target (no libFuzzer needed):
//! `vm_jit_run [RUNS] [SEED]` feeds RUNS pseudo-random inputs (xorshift from SEED, 16–4096
//! bytes) to `sx_fuzz::differential::check` and stops at the first divergence, writing the
//! input to `vm_jit-divergence-SEED-N.bin`. `vm_jit_run --replay FILE` checks one input.

fn main() {
    sx_fuzz::differential::init();
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--replay") {
        let data = std::fs::read(&args[2]).expect("cannot read the input");
        match sx_fuzz::differential::check(&data) {
            Some(d) => {
                println!("DIVERGENCE\n{}", d);
                std::process::exit(1);
            }
            None => println!("same"),
        }
        return;
    }
    let runs: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let seed: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1);
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let start = std::time::Instant::now();
    let (mut ran, mut native, mut funcs) = (0u64, 0u64, 0u64);
    for n in 0..runs {
        let len = 16 + (next() % 4080) as usize;
        let data: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        match sx_fuzz::differential::check_counted(&data) {
            sx_fuzz::differential::Checked::Skipped => {}
            sx_fuzz::differential::Checked::Same(k) => {
                ran += 1;
                native += (k > 0) as u64;
                funcs += k;
            }
            sx_fuzz::differential::Checked::Diverged(d) => {
                let file = format!("vm_jit-divergence-{}-{}.bin", seed, n);
                let _ = std::fs::write(&file, &data);
                println!("DIVERGENCE at run {} (input {}):\n{}", n, file, d);
                std::process::exit(1);
            }
        }
        if (n + 1) % 10_000 == 0 {
            eprintln!("{} runs ({} ran on both VMs, {} with native code), {:.0} s", n + 1, ran, native, start.elapsed().as_secs_f64());
        }
    }
    println!(
        "{} runs (seed {}): {} modules ran on both VMs, {} of them with native code ({} functions compiled); no divergence; {:.0} s",
        runs,
        seed,
        ran,
        native,
        funcs,
        start.elapsed().as_secs_f64()
    );
}
