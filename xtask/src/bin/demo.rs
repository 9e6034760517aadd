//! The kalloc demo: a simulated kernel boot on one region of memory, narrated.
//!
//! It grows with the workspace: each allocator crate adds its stage. Run it with
//! `cargo xtask demo [--region-kib N]`.

use kalloc_core::{Align, Error, FixedRegion, MemorySource, Source, Span};

struct Options {
    region_kib: usize,
}

fn parse() -> Result<Options, String> {
    let mut options = Options { region_kib: 1024 };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--region-kib" => {
                let value = args.next().ok_or("--region-kib needs a number")?;
                options.region_kib = value
                    .parse()
                    .map_err(|_| format!("not a number: {value}"))?;
                if options.region_kib < 16 {
                    return Err("--region-kib must be at least 16".into());
                }
            }
            "-h" | "--help" => {
                println!("usage: cargo xtask demo [--region-kib N]   (default 1024, at least 16)");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument `{other}` (try --help)")),
        }
    }
    Ok(options)
}

fn heading(title: &str) {
    println!(
        "\n== {title} {}",
        "=".repeat(70usize.saturating_sub(title.len()))
    );
}

fn stage_spans() {
    heading("1. Spans: ranges that never wrap");
    let kernel = Span::new(0x10_0000, 0x20_0000);
    println!(
        "kernel image occupies {kernel} ({} KiB)",
        kernel.len() / 1024
    );
    let (text, data) = kernel.split_at(0x8_0000).expect("offset inside the span");
    println!(
        "split into text {text} and data {data}: adjacent = {}",
        text.is_adjacent(data)
    );
    let odd = Span::new(0x10_0123, 0x5000);
    let page = Align::new(4096);
    println!(
        "{odd} rounded inward to pages: {:?}",
        odd.align_inward(page)
    );
    println!(
        "{odd} rounded outward to pages: {:?}",
        odd.align_outward(page)
    );
    println!(
        "a span of 2 ending past usize::MAX: {:?}",
        Span::try_new(usize::MAX - 1, 2).map_err(|e| e.to_string())
    );
}

fn stage_source(region_kib: usize) -> Result<(), Error> {
    heading("2. A source: one region of memory handed out in pieces");
    let mut memory = vec![0u8; region_kib * 1024];
    let region = FixedRegion::from_slice(&mut memory);
    println!("region {} ({} KiB)", region.span(), region_kib);
    // Two "subsystems" share the one source through `&`.
    let (drivers, scheduler) = (&region, &region);
    let dma = drivers.import(8 * 1024, Align::new(4096))?;
    let stacks = scheduler.import(4 * 1024, Align::new(16))?;
    println!(
        "drivers got   {dma}  (page aligned: {})",
        dma.is_aligned(Align::new(4096))
    );
    println!("scheduler got {stacks}");
    let bytes = region.ptr(stacks)?;
    // SAFETY: `bytes` is valid for `stacks.len()` bytes until `stacks` is released.
    unsafe { bytes.as_ptr().write_bytes(0xCC, stacks.len()) };
    println!("scheduler filled its stacks with 0xCC through a pointer with provenance");
    let stats = region.stats();
    println!(
        "stats: total {} B, in use {} B, free {} B, overhead {} B",
        stats.total,
        stats.in_use,
        stats.free,
        stats.overhead()
    );
    println!(
        "asking for more than is left: {}",
        region.import(region_kib * 1024, Align::ONE).unwrap_err()
    );
    println!(
        "releasing a span it never gave out: {}",
        region.release(Span::new(0, 16)).unwrap_err()
    );
    scheduler.release(stacks)?;
    drivers.release(dma)?;
    println!("both released: free again = {} B", region.stats().free);
    Ok(())
}

fn main() {
    let options = match parse() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("demo: {message}");
            std::process::exit(2);
        }
    };
    println!("kalloc demo: allocators for kernels, run here in user space");
    stage_spans();
    if let Err(error) = stage_source(options.region_kib) {
        eprintln!("demo: a stage failed: {error}");
        std::process::exit(1);
    }
    println!("\nThe allocator crates add their stages here as they land.");
}
