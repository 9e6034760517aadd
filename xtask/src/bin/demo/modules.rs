//! Stage: kernel modules. A block allocator hands 4 KiB blocks to per-module bump arenas;
//! unloading a module drops its arena and every block comes back in one step.

use crate::machine::{FRAME_MEMORY, PAGE};
use crate::report::Outcome;
use crate::report::heading;
use kalloc_arena::BlockBumpArena;
use kalloc_block::{BLOCK_SIZE, BlockAllocator};
use kalloc_core::{Error, MemorySource, SourceCell};
use kalloc_vmem::Constraints;

/// One loaded module: its name and its arena, from which all its metadata comes.
struct Module<'a> {
    name: &'static str,
    arena: BlockBumpArena<&'a SourceCell<BlockAllocator<'static>>>,
}

impl Module<'_> {
    /// Loads `symbols` into the module's arena, as a loader would record its symbol table.
    fn load(&self, symbols: &[&str]) -> Result<(), Error> {
        for symbol in symbols {
            let name = self.arena.alloc_slice_copy(symbol.as_bytes())?;
            let address = self
                .arena
                .alloc_value(0xffff_8000_0000_0000u64 + name.len() as u64)
                .map_err(|(e, _)| e)?;
            assert_eq!(&name[..], symbol.as_bytes());
            assert!(*address > 0);
        }
        // Two big tables (relocations, the module's page tables): the arena starts new blocks.
        self.arena.alloc_slice_copy(&[0u64; 400])?;
        self.arena.alloc_slice_copy(&[0u32; 700])?;
        Ok(())
    }
}

fn show_blocks(label: &str, blocks: &SourceCell<BlockAllocator<'static>>) -> Outcome {
    let stats = blocks.with(|b| b.stats())?;
    println!(
        "  {label:<28} blocks in use {:>3} of {:>3}  ({} KiB free)",
        stats.in_use / BLOCK_SIZE,
        stats.total / BLOCK_SIZE,
        stats.free / 1024
    );
    Ok(())
}

pub(crate) fn run() -> Outcome {
    heading("5. Kernel modules: blocks for per-module bump arenas");
    let blocks_wanted = 64;
    let span = FRAME_MEMORY.xalloc(blocks_wanted * PAGE, &Constraints::new().align(PAGE))?;
    let memory = FRAME_MEMORY.ptr(span)?;
    // SAFETY: the frames were just taken from the frame arena for this allocator alone and
    // stay allocated (never freed) for the rest of the program, which is `'static` enough.
    let allocator = unsafe { BlockAllocator::from_raw(memory, span.len()) }?;
    let blocks = SourceCell::new(allocator);
    println!(
        "block allocator over {span}: {} blocks of 4 KiB, 1-byte indexes kept out of band",
        blocks_wanted
    );
    show_blocks("at boot", &blocks)?;

    let modules = [
        Module {
            name: "net",
            arena: BlockBumpArena::new(&blocks),
        },
        Module {
            name: "fs",
            arena: BlockBumpArena::new(&blocks),
        },
        Module {
            name: "usb",
            arena: BlockBumpArena::new(&blocks),
        },
    ];
    let symbols = [
        "init_module",
        "cleanup_module",
        "probe",
        "remove",
        "ioctl",
        "read",
        "write",
        "poll",
    ];
    for module in &modules {
        module.load(&symbols)?;
        let s = module.arena.arena_stats();
        println!(
            "  loaded {:<4} {} symbols, {} B in {} block(s), {} B of tails wasted",
            module.name,
            symbols.len(),
            s.in_use,
            s.blocks,
            s.wasted
        );
    }
    show_blocks("after loading net, fs, usb", &blocks)?;
    let [net, fs, usb] = modules;
    println!(
        "  unloading `{}`: dropping its arena returns all of its blocks at once",
        fs.name
    );
    drop(fs);
    show_blocks("after unloading fs", &blocks)?;
    drop((net, usb));
    show_blocks("after unloading the rest", &blocks)?;
    blocks
        .with(|b| b.check())?
        .map_err(|e| format!("block allocator inconsistent: {e:?}"))?;
    println!("  block allocator checker: every block on exactly one list");
    Ok(())
}
