//! The `svm-dual` command-line program: a thin shell around [`cli`]
//! (clap arguments → validated options → load, train, verify → outputs).

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
