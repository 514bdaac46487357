//! Writing the planned file: the plan has laid everything out (the merged header bytes
//! come from object's ELF structures, see fields.rs), so writing is copying in order:
//! headers, then the body over their free tail, then the code's tail where the plan
//! moved it. No offset is patched afterwards. A plan it cannot follow is the planner's
//! mistake, never the input's: a `Bug`.

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
    // The code's tail: each moved run in its hole, the front-most move's jump right
    // behind the body (the jumps of the moves before it moved along with the code).
    for tail in &plan.tail {
        let hole = tail.hole.start..tail.hole.start + tail.moved.len();
        if hole.end > plan.body_at.min(plan.len) {
            return Err(Bug(format!("the planned tail move {tail:?} does not fit the headers")));
        }
        out[hole].copy_from_slice(&tail.moved);
    }
    if let Some(front) = plan.tail.last() {
        let jump = body_end..body_end + front.jump.len();
        if jump.end > plan.len {
            return Err(Bug(format!("the planned tail move {front:?} does not fit the planned file")));
        }
        out[jump].copy_from_slice(&front.jump);
    }
    Ok(out)
}
