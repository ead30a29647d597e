//! Control-flow analysis of a [`Function`]: successors/predecessors from terminators, the
//! reverse postorder of the blocks reachable from the entry, and the dominator tree
//! (Cooper–Harvey–Kennedy) with O(1) dominance queries.
//!
//! Used by the verifier (definitions must dominate uses) and by [`crate::opt`].

use crate::entity::EntityRef;
use crate::*;

const NONE: u32 = u32::MAX;

/// The successor blocks of `b`, one per outgoing edge (a branch with both arms to the same block
/// yields it twice), `then` before `else`.
pub fn successors(f: &Function, b: Block) -> Vec<Block> {
    match f.blocks[b].insts.last().and_then(|&i| f.insts.get(i)) {
        Some(d) => d.kind.edges().into_iter().map(|(dest, _)| dest).collect(),
        None => vec![],
    }
}

/// Control-flow graph and dominator tree of one function.
#[derive(Clone, Debug, Default)]
pub struct Cfg {
    /// Predecessors of every block (reachable or not), one entry per incoming edge.
    pub preds: Vec<Vec<Block>>,
    /// Blocks reachable from the entry, in reverse postorder (entry first).
    pub rpo: Vec<Block>,
    /// Position of each block in `rpo`, `u32::MAX` when unreachable.
    rpo_index: Vec<u32>,
    /// Immediate dominator of each reachable block (the entry's is itself), `u32::MAX` otherwise.
    idom: Vec<u32>,
    /// Dominator-tree children of each reachable block.
    children: Vec<Vec<Block>>,
    /// Preorder / postorder numbers in the dominator tree (for O(1) dominance).
    pre: Vec<u32>,
    post: Vec<u32>,
}

impl Cfg {
    /// Computes the CFG and dominator tree of `f` (which may have no blocks).
    pub fn compute(f: &Function) -> Cfg {
        let n = f.blocks.len();
        let mut cfg = Cfg {
            preds: vec![Vec::new(); n],
            rpo: Vec::new(),
            rpo_index: vec![NONE; n],
            idom: vec![NONE; n],
            children: vec![Vec::new(); n],
            pre: vec![NONE; n],
            post: vec![NONE; n],
        };
        let Some(entry) = f.entry() else { return cfg };
        let succs: Vec<Vec<Block>> = f.blocks.keys().map(|b| successors(f, b)).collect();
        for (b, ss) in succs.iter().enumerate() {
            for &s in ss {
                if s.index() < n {
                    cfg.preds[s.index()].push(Block::new(b));
                }
            }
        }
        // Reverse postorder by iterative DFS (else-arm explored first, like the code generator).
        let mut seen = vec![false; n];
        let mut post = Vec::new();
        let mut stack: Vec<(Block, usize)> = vec![(entry, 0)];
        seen[entry.index()] = true;
        while let Some(top) = stack.last_mut() {
            let (b, k) = *top;
            let ss = &succs[b.index()];
            if k < ss.len() {
                top.1 += 1;
                let s = ss[ss.len() - 1 - k];
                if s.index() < n && !seen[s.index()] {
                    seen[s.index()] = true;
                    stack.push((s, 0));
                }
            } else {
                post.push(b);
                stack.pop();
            }
        }
        post.reverse();
        cfg.rpo = post;
        for (i, &b) in cfg.rpo.iter().enumerate() {
            cfg.rpo_index[b.index()] = i as u32;
        }
        // Dominators (Cooper, Harvey, Kennedy: "A Simple, Fast Dominance Algorithm").
        cfg.idom[entry.index()] = entry.0;
        let mut changed = true;
        while changed {
            changed = false;
            for &b in cfg.rpo.iter().skip(1) {
                let mut new_idom = NONE;
                for &p in &cfg.preds[b.index()] {
                    if cfg.idom[p.index()] == NONE {
                        continue; // unreachable or not yet processed
                    }
                    new_idom = if new_idom == NONE { p.0 } else { cfg.intersect(p.0, new_idom) };
                }
                if new_idom != NONE && cfg.idom[b.index()] != new_idom {
                    cfg.idom[b.index()] = new_idom;
                    changed = true;
                }
            }
        }
        for &b in cfg.rpo.iter().skip(1) {
            let d = cfg.idom[b.index()];
            cfg.children[d as usize].push(b);
        }
        // Pre/post numbering of the dominator tree.
        let (mut pre_n, mut post_n) = (0u32, 0u32);
        let mut stack: Vec<(Block, usize)> = vec![(entry, 0)];
        cfg.pre[entry.index()] = pre_n;
        pre_n += 1;
        while let Some(top) = stack.last_mut() {
            let (b, k) = *top;
            if k < cfg.children[b.index()].len() {
                top.1 += 1;
                let c = cfg.children[b.index()][k];
                cfg.pre[c.index()] = pre_n;
                pre_n += 1;
                stack.push((c, 0));
            } else {
                cfg.post[b.index()] = post_n;
                post_n += 1;
                stack.pop();
            }
        }
        cfg
    }

    fn intersect(&self, mut a: u32, mut b: u32) -> u32 {
        while a != b {
            while self.rpo_index[a as usize] > self.rpo_index[b as usize] {
                a = self.idom[a as usize];
            }
            while self.rpo_index[b as usize] > self.rpo_index[a as usize] {
                b = self.idom[b as usize];
            }
        }
        a
    }

    /// True when `b` is reachable from the entry.
    pub fn is_reachable(&self, b: Block) -> bool {
        self.rpo_index.get(b.index()).map(|&i| i != NONE).unwrap_or(false)
    }

    /// The blocks (a flag per block of a function with `n` blocks) of the natural loop of
    /// header `h` whose back edges come from `latches`: `h` and every reachable block that
    /// reaches a latch without passing `h`.
    pub fn natural_loop(&self, h: Block, latches: Vec<Block>, n: usize) -> Vec<bool> {
        let mut body = vec![false; n];
        body[h.index()] = true;
        let mut work = latches;
        while let Some(b) = work.pop() {
            if !body[b.index()] {
                body[b.index()] = true;
                work.extend(self.preds[b.index()].iter().copied().filter(|&p| self.is_reachable(p)));
            }
        }
        body
    }

    /// The immediate dominator of a reachable non-entry block.
    pub fn idom(&self, b: Block) -> Option<Block> {
        match self.idom.get(b.index()) {
            Some(&d) if d != NONE && d != b.0 => Some(Block(d)),
            _ => None,
        }
    }

    /// Dominator-tree children of `b`.
    pub fn dom_children(&self, b: Block) -> &[Block] {
        self.children.get(b.index()).map(|c| c.as_slice()).unwrap_or(&[])
    }

    /// True when every path from the entry to `b` passes through `a` (reflexive). False when
    /// either block is unreachable.
    pub fn dominates(&self, a: Block, b: Block) -> bool {
        if !self.is_reachable(a) || !self.is_reachable(b) {
            return false;
        }
        self.pre[a.index()] <= self.pre[b.index()] && self.post[b.index()] <= self.post[a.index()]
    }

    /// Dominance frontiers of the reachable blocks (unreachable predecessors are ignored).
    pub fn dominance_frontiers(&self) -> Vec<Vec<Block>> {
        let mut df: Vec<Vec<Block>> = vec![Vec::new(); self.preds.len()];
        for &b in &self.rpo {
            let preds: Vec<Block> = self.preds[b.index()].iter().copied().filter(|&p| self.is_reachable(p)).collect();
            if preds.len() < 2 {
                continue;
            }
            let stop = self.idom[b.index()];
            for p in preds {
                let mut runner = p.0;
                while runner != stop {
                    if !df[runner as usize].contains(&b) {
                        df[runner as usize].push(b);
                    }
                    let next = self.idom[runner as usize];
                    if next == runner {
                        break; // the entry (a back edge into the entry is not represented)
                    }
                    runner = next;
                }
            }
        }
        df
    }
}
