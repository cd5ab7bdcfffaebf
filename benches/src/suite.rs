//! All groups of a binary, from both files of workloads:
//!
//! - [`crate::groups`]: buffers within a tier: `hit`, `held`, `handoff`,
//!   `contention`, `fill`, `freeze`, `serialize`;
//! - [`crate::large`]: payloads larger than any tier, in a chain and in one
//!   growing buffer: `large`, `socket_write`, `socket_read`.

use criterion::Criterion;

use crate::groups::{contention, fill, freeze_variants, handoff_group, held, hit, serialize};
use crate::large::{serialize_large, socket_read, socket_write};
use crate::{Inlined, Lineup, Opaque, Write};

/// All groups of a binary, opaque then inlined. `with_freeze` adds `fill`,
/// `serialize`, `freeze`, `socket_write` and `socket_read`: the `pools`
/// binary runs them, the allocator binaries do not.
pub fn all(c: &mut Criterion, lineup: Lineup, with_freeze: bool) {
    fn run<W: Write>(c: &mut Criterion, lineup: Lineup, with_freeze: bool) {
        hit::<W>(c, lineup);
        held::<W>(c, lineup);
        handoff_group::<W>(c, lineup);
        contention::<W>(c, lineup);
        if with_freeze {
            fill::<W>(c, lineup);
            serialize::<W>(c, lineup);
        }
        serialize_large::<W>(c, lineup);
    }
    run::<Opaque>(c, lineup, with_freeze);
    run::<Inlined>(c, lineup, with_freeze);
    if with_freeze {
        freeze_variants(c, lineup);
        socket_write(c, lineup);
        socket_read(c, lineup);
    }
}
