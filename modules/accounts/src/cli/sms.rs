//! `xqt sms last --phone …`: the newest message the built-in SMS provider "delivered" to a
//! phone, so a developer signs in without reading the database. Refused in production, where
//! codes are never shown.

use std::process::ExitCode;

use async_trait::async_trait;
use clap::{FromArgMatches, Subcommand};
use xqt_kernel::cli::CliCommand;
use xqt_kernel::config::Environment;
use xqt_kernel::{AppContext, AppResult};

use crate::phone::Phone;

#[derive(Subcommand)]
enum Command {
    /// Print the newest message sent to a phone (and the code in it on its own line).
    Last {
        #[arg(long)]
        phone: String,
    },
}

pub struct Sms;

#[async_trait]
impl CliCommand for Sms {
    fn command(&self) -> clap::Command {
        Command::augment_subcommands(
            clap::Command::new("sms")
                .about("Messages the built-in SMS provider wrote (development and test only)")
                .subcommand_required(true),
        )
    }

    async fn run(&self, ctx: &AppContext, args: &clap::ArgMatches) -> AppResult<ExitCode> {
        match Command::from_arg_matches(args).map_err(|e| crate::error::invalid("command", e.to_string()))? {
            Command::Last { phone } => {
                if ctx.config.env == Environment::Production {
                    eprintln!("xqt sms last shows codes only outside production");
                    return Ok(ExitCode::FAILURE);
                }
                let phone = Phone::parse(&phone)?;
                let Some(text) = crate::sms::latest_to(ctx, &phone).await? else {
                    eprintln!("no message to {} yet: ask for a code with requestSignInCode first", phone.masked());
                    return Ok(ExitCode::FAILURE);
                };
                println!("{text}");
                if let Some(code) = code_in(&text) {
                    println!("code: {code}");
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    }
}

/// The first run of six digits in a message.
pub fn code_in(text: &str) -> Option<&str> {
    let bytes = text.as_bytes();
    (0..bytes.len().saturating_sub(5)).find_map(|i| {
        let run = &bytes[i..i + 6];
        let bounded =
            (i == 0 || !bytes[i - 1].is_ascii_digit()) && bytes.get(i + 6).is_none_or(|b| !b.is_ascii_digit());
        (run.iter().all(u8::is_ascii_digit) && bounded).then(|| &text[i..i + 6])
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn finds_the_six_digit_code() {
        assert_eq!(super::code_in("【校企通】验证码 042917，5 分钟内有效"), Some("042917"));
        assert_eq!(super::code_in("1234567 no six-digit run"), None);
        assert_eq!(super::code_in("no digits"), None);
    }
}
