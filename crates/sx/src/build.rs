//! `sx build`: the default pipeline (emit the object file, link it) or the program's own
//! build callback (`on_build` in `modules/build.sx`), run on the VM after code generation.
//!
//! The callback's compiler requests are serviced here, where code generation and linking
//! live: `emit_object` writes the object file, `raw_link_*` collect and run one link, and the
//! queries answer from the build settings (the command line, then what compile-time code set).

use std::path::{Path, PathBuf};

use sx_sema::build_api::build_list;
use sx_vm::{Outcome, Vm};

use crate::phases::PhaseClock;

/// Everything one `sx build` needs to know.
pub struct BuildJob<'a> {
    pub out: &'a sx_sema::Output,
    /// The executable to write.
    pub dest: PathBuf,
    /// `--link-arg`s, then the program's `add_link_flag`s.
    pub link_flags: Vec<String>,
    pub limits: sx_vm::VmLimits,
    /// Cranelift's optimisation level.
    pub opt: sx_codegen::OptLevel,
    /// `-g`: the object file carries DWARF debug information.
    pub debug: bool,
    /// Where code generation and linking times go (`--time`).
    pub clock: &'a mut PhaseClock,
}

/// One link requested by the callback (`raw_link_begin` … `raw_link_run`).
#[derive(Default)]
struct LinkRequest {
    output: String,
    target: String,
    objects: Vec<PathBuf>,
    extra: Vec<String>,
}

impl BuildJob<'_> {
    /// Runs the build: the registered callback if there is one, else emit + link.
    pub fn run(&mut self) -> Result<(), String> {
        match self.out.build.callback {
            Some(cb) => self.run_callback(cb),
            None => self.emit_and_link(),
        }
    }

    fn emit_and_link(&mut self) -> Result<(), String> {
        let obj = self.emit_object()?;
        if self.out.module.target != sx_ir::Target::host() {
            let objpath = self.dest.with_extension("o");
            std::fs::write(&objpath, &obj).map_err(|e| format!("cannot write '{}': {}", objpath.display(), e))?;
            eprintln!("note: cross target: wrote object file '{}' (not linked)", objpath.display());
            return Ok(());
        }
        let dest = &self.dest;
        let mut flags: Vec<String> = self.out.c_link.objects.iter().map(|o| o.to_string_lossy().into_owned()).collect();
        flags.extend(self.link_flags.iter().cloned());
        PhaseClock::time(&mut self.clock.link, || sx_codegen::link_executable(&obj, dest, &flags)).map_err(|e| e.to_string())
    }

    /// The program's object file, at the job's optimisation level (with debug information for `-g`).
    fn emit_object(&mut self) -> Result<Vec<u8>, String> {
        let (module, opt) = (&self.out.module, self.opt);
        let comp_dir = std::env::current_dir().map(|d| d.to_string_lossy().into_owned()).unwrap_or_default();
        let sources = sx_codegen::DebugSources { sources: &self.out.sources, comp_dir };
        let debug = self.debug.then_some(&sources);
        PhaseClock::time(&mut self.clock.codegen, || sx_codegen::emit_object_debug(module, opt, debug)).map_err(|e| e.to_string())
    }

    fn run_callback(&mut self, cb: sx_ir::FuncId) -> Result<(), String> {
        let r = self.run_callback_inner(cb);
        let _ = std::fs::remove_dir_all(scratch_dir());
        r
    }

    fn run_callback_inner(&mut self, cb: sx_ir::FuncId) -> Result<(), String> {
        let m = &self.out.module;
        let mut vm = Vm::new(self.limits.clone(), Box::new(sx_vm::StdHost));
        for (symbol, sig) in &self.out.foreign {
            vm.declare_foreign(symbol, sig.clone());
        }
        let unit_library = self.out.c_link.shared.as_ref().map(|p| p.to_string_lossy().into_owned());
        for name in self.out.libraries.iter().chain(unit_library.as_ref()) {
            match vm.load_library(name) {
                // Under `--sandbox` without `ffi` the callback's calls into it are refused.
                Ok(()) | Err(sx_vm::LibraryError::Refused { .. }) => {}
                Err(e) => return Err(e.to_string()),
            }
        }
        // The callback takes its (empty) `BuildOptions` by address.
        let opt = vm.alloc(1, 1).map_err(|e| e.message)?;
        let mut link = None;
        let mut r = vm.call(m, cb, &[opt]);
        loop {
            match r {
                Ok(Outcome::CompilerCall { name, args }) => match self.service(&mut vm, &mut link, &name, &args) {
                    Ok(results) => r = vm.resume(m, &results),
                    Err(e) => {
                        vm.abandon();
                        return Err(format!("build callback: {}", e));
                    }
                },
                Ok(Outcome::Returned(v)) if v.first().is_some_and(|&b| b as u8 != 0) => return Ok(()),
                Ok(Outcome::Returned(_)) => return Err("the build callback returned false".to_string()),
                Ok(Outcome::Exited(code)) => return Err(format!("the build callback called exit({})", code)),
                Err(e) => {
                    let stack: Vec<String> = e.stack.iter().map(|f| f.func.split('.').next().unwrap_or("").to_string()).collect();
                    return Err(format!("build callback failed: {} (in {})", e.message, stack.join(" <- ")));
                }
            }
        }
    }

    /// Answers one request of the callback.
    fn service(&mut self, vm: &mut Vm, link: &mut Option<LinkRequest>, name: &str, a: &[u64]) -> Result<Vec<u64>, String> {
        let arg = |i: usize| a.get(i).copied().unwrap_or(0);
        let string = |vm: &Vm, i: usize| -> Result<String, String> {
            if arg(i + 1) == 0 {
                return Ok(String::new());
            }
            vm.read_bytes(arg(i), arg(i + 1)).map(|b| String::from_utf8_lossy(&b).into_owned()).map_err(|e| e.message)
        };
        match name {
            "emit_object" => {
                let obj = self.emit_object()?;
                let dir = scratch_dir();
                std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create '{}': {}", dir.display(), e))?;
                let path = dir.join("program.o");
                std::fs::write(&path, &obj).map_err(|e| format!("cannot write '{}': {}", path.display(), e))?;
                give_string(vm, &path.display().to_string())
            }
            "build_output" => give_string(vm, &self.dest.display().to_string()),
            "build_target" => give_string(vm, self.out.module.target.name()),
            "raw_add_link_flag" => {
                let f = string(vm, 0)?;
                self.link_flags.push(f);
                Ok(vec![])
            }
            "raw_set_output_path" => {
                self.dest = PathBuf::from(string(vm, 0)?);
                Ok(vec![])
            }
            "raw_build_list_count" => Ok(vec![self.build_list(arg(0)).len() as u64]),
            "raw_build_list_at" => {
                let s = self.build_list(arg(0)).get(arg(1) as usize).cloned();
                give_string(vm, &s.unwrap_or_default())
            }
            "raw_link_begin" => {
                *link = Some(LinkRequest { output: string(vm, 0)?, target: string(vm, 2)?, ..LinkRequest::default() });
                Ok(vec![])
            }
            "raw_link_add" => {
                let Some(l) = link.as_mut() else { return Err("raw_link_add before raw_link_begin".to_string()) };
                let item = string(vm, 1)?;
                match arg(0) {
                    build_list::OBJECTS => l.objects.push(PathBuf::from(item)),
                    build_list::LIBRARIES => l.extra.push(sx_vm::library::link_flag(&item)),
                    build_list::FRAMEWORKS => return Err(format!("frameworks are not supported on this target ('{}')", item)),
                    _ => l.extra.push(item),
                }
                Ok(vec![])
            }
            "raw_link_run" => {
                let Some(l) = link.take() else { return Err("raw_link_run before raw_link_begin".to_string()) };
                if !l.target.is_empty() && sx_ir::Target::parse(&l.target) != Some(sx_ir::Target::host()) {
                    return Err(format!("cannot link for target '{}' on this host", l.target));
                }
                PhaseClock::time(&mut self.clock.link, || sx_codegen::link_objects(&l.objects, Path::new(&l.output), &l.extra))
                    .map_err(|e| e.to_string())?;
                Ok(vec![])
            }
            _ => Err(format!("'{}' is not available in the build callback", name)),
        }
    }
}

impl BuildJob<'_> {
    /// A list the callback queries: the C units' objects (`c_object_paths`) or the link flags.
    fn build_list(&self, which: u64) -> Vec<String> {
        match which {
            build_list::OBJECTS => self.out.c_link.objects.iter().map(|o| o.to_string_lossy().into_owned()).collect(),
            build_list::FLAGS => self.link_flags.clone(),
            _ => vec![],
        }
    }
}

/// Where `emit_object` writes during this build (removed when the build ends).
fn scratch_dir() -> PathBuf {
    std::env::temp_dir().join(format!("sx_build_{}", std::process::id()))
}

/// A string result for the callback: its bytes copied into comptime memory.
fn give_string(vm: &mut Vm, s: &str) -> Result<Vec<u64>, String> {
    let p = vm.alloc(s.len().max(1) as u64, 1).map_err(|e| e.message)?;
    vm.write_bytes(p, s.as_bytes()).map_err(|e| e.message)?;
    Ok(vec![p, s.len() as u64])
}
