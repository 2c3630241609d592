//! `netipc`: command-line tool for NetIPC services. Everything lives in
//! the library ([`netipc_cli::cmd`]); see `netipc --help` for the
//! subcommands and the exit codes.

#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    netipc_cli::cmd::main()
}
