//! Writing the planned file: the plan has laid everything out (the merged header bytes
//! come from object's ELF structures, see fields.rs), so writing is copying in order:
//! headers, then the body over their free tail, then the packed code's runs where the
//! plan put them. No offset is patched afterwards. A plan it cannot follow is the
//! planner's mistake, never the input's: a `Bug`.

use super::{Bug, Elf, Plan};

pub fn write(elf: &Elf, plan: &Plan) -> Result<Vec<u8>, Bug> {
    let body = elf
        .bytes
        .get(plan.body.clone())
        .ok_or_else(|| Bug(format!("planned body {:?} lies outside the input", plan.body)))?;
    let mut out = vec![0; plan.len];
    let headers_len = plan.headers.len().min(plan.len);
    out[..headers_len].copy_from_slice(&plan.headers[..headers_len]);
    let body_end = plan.body_at + body.len();
    if body_end > plan.len {
        return Err(Bug(format!("planned body ends at {body_end:#x}, past the planned length {:#x}", plan.len)));
    }
    out[plan.body_at..body_end].copy_from_slice(body);
    // The data, moved piece by piece: the file may end inside the last, on zeros.
    for (from, at) in &plan.pieces {
        let bytes =
            elf.bytes.get(from.clone()).ok_or_else(|| Bug(format!("planned piece {from:?} lies outside the input")))?;
        let n = bytes.len().min(plan.len.saturating_sub(*at));
        if bytes[n..].iter().any(|&b| b != 0) {
            return Err(Bug(format!("the planned piece at {at:#x} does not fit the planned file")));
        }
        out[*at..*at + n].copy_from_slice(&bytes[..n]);
    }
    // The packed code: each run at its address (the file loads from offset 0). A
    // run's last bytes may be zeros the file leaves to the loader.
    if let Some(packing) = &plan.packing {
        let load = plan.load_address();
        for run in &packing.runs {
            let at = run.at.wrapping_sub(load) as usize;
            let fits = at.checked_add(run.bytes.len()).is_some_and(|end| {
                end <= plan.len || run.bytes[plan.len.saturating_sub(at).min(run.bytes.len())..].iter().all(|&b| b == 0)
            });
            if !fits || at < plan.body_at.min(body_end) && at + run.bytes.len() > plan.body_at {
                return Err(Bug(format!("the planned run at {:#x} does not fit the planned file", run.at)));
            }
            // A run may lie wholly past the file's end (all zeros): nothing to write.
            let n = run.bytes.len().min(plan.len.saturating_sub(at));
            if n > 0 {
                out[at..at + n].copy_from_slice(&run.bytes[..n]);
            }
        }
    }
    Ok(out)
}
