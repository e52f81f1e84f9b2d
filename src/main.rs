//! The `rollcall` binary: subcommands only.

fn main() {
    println!("rollcall");
}
