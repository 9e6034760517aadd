//! The kalloc demo: a simulated kernel boot on one region of memory, narrated.
//!
//! `cargo xtask demo [--region-kib N] [--objects N]`. Every kalloc crate does what it is for:
//! a vmem arena manages the region's page frames (with a DMA window and a PID arena beside
//! it), a block allocator feeds per-module bump arenas, and this program's own heap is a
//! TLSF behind kalloc-sync's lock that grows from the frame arena.

mod heap;
mod machine;
mod modules;
mod report;
mod resources;

use kalloc_core::{Align, Span};
use kalloc_sync::Locked;
use kalloc_tlsf::Tlsf;
use machine::{FRAME_MEMORY, FRAMES, FrameMemory};
use report::{Outcome, heading, kib, show_stats, show_vmem};

/// The global allocator: a TLSF heap behind a spin lock, growing from [`FRAME_MEMORY`].
#[global_allocator]
static HEAP: Locked<Tlsf<'static, &'static FrameMemory>> =
    Locked::new(Tlsf::with_source(&FRAME_MEMORY));

struct Options {
    region_kib: usize,
    objects: usize,
}

const USAGE: &str = "usage: cargo xtask demo [--region-kib N] [--objects N]
  --region-kib N   size of the simulated physical memory (default 16384, at least 2048)
  --objects N      size of the heap workload (default 20000)";

fn parse() -> Result<Options, String> {
    let mut options = Options {
        region_kib: 16 * 1024,
        objects: 20_000,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut number = |name: &str| -> Result<usize, String> {
            let value = args.next().ok_or(format!("{name} needs a number"))?;
            value
                .parse()
                .map_err(|_| format!("{name}: not a number: {value}"))
        };
        match arg.as_str() {
            "--region-kib" => options.region_kib = number("--region-kib")?,
            "--objects" => options.objects = number("--objects")?,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument `{other}`\n{USAGE}")),
        }
    }
    if options.region_kib < 2048 {
        return Err("--region-kib must be at least 2048 (the demo takes a DMA window, 64 blocks and heap pools from it)".into());
    }
    Ok(options)
}

fn spans() {
    heading("1. Spans: ranges that never wrap");
    let kernel = Span::new(0x10_0000, 0x20_0000);
    println!("the kernel image occupies {kernel} ({})", kib(kernel.len()));
    let (text, data) = kernel.split_at(0x8_0000).expect("offset inside the span");
    println!(
        "split into text {text} and data {data}: adjacent = {}",
        text.is_adjacent(data)
    );
    let odd = Span::new(0x10_0123, 0x5000);
    let page = Align::new(4096);
    println!(
        "{odd} rounded inward to pages: {:?}; outward: {:?}",
        odd.align_inward(page),
        odd.align_outward(page)
    );
    println!(
        "a span of 2 starting at usize::MAX - 1 would wrap: {:?}",
        Span::try_new(usize::MAX - 1, 2).map_err(|e| e.to_string())
    );
}

fn boot(options: &Options) -> Result<Span, Box<dyn std::error::Error>> {
    heading("2. Boot: the page-frame arena comes online");
    println!("before this point every allocation (argument parsing, stdout) used the boot pool:");
    let stats = HEAP.lock().stats();
    show_stats("kernel heap", &stats);
    let region = FRAME_MEMORY.online(options.region_kib * 1024)?;
    // From now on the heap grows in steps of 1 MiB of frames.
    HEAP.lock().set_min_import(1024 * 1024);
    println!(
        "physical memory {region}: {} in {} frames of 4 KiB, managed by a vmem arena",
        kib(region.len()),
        region.len() / machine::PAGE
    );
    Ok(region)
}

fn summary() -> Outcome {
    heading("7. Shutdown: where everything went");
    let frames = FRAMES.lock();
    let (stats, counters, checked) = (frames.stats(), frames.counters(), frames.check());
    drop(frames);
    show_stats("frame arena", &stats);
    println!(
        "  frame arena counters: {} allocs, {} frees, {} failures",
        counters.allocs, counters.frees, counters.failures
    );
    checked.map_err(|e| format!("frame arena inconsistent: {e:?}"))?;
    show_vmem(&*FRAMES.lock());
    println!("\nall checkers passed: frame arena, DMA arena, block allocator, kernel heap.");
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
    println!("kalloc demo: a kernel boot, simulated in user space on one region of memory");
    spans();
    let outcome = boot(&options).and_then(|region| {
        resources::dma_window(region)?;
        resources::pids()?;
        modules::run()?;
        heap::run(options.objects)?;
        summary()
    });
    if let Err(error) = outcome {
        eprintln!("demo: a stage failed: {error}");
        std::process::exit(1);
    }
}
