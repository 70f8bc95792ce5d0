//! Email through SES: plain-text messages from the configured sender.

use aws_sdk_ses::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_ses::types::{Body, Content, Destination, Message};
use aws_sdk_ses::Client;

/// SES accepts up to 50 recipients; the contract allows 10 a message.
pub const MAX_RECIPIENTS: usize = 10;

#[derive(Clone)]
pub struct Mailer {
    client: Client,
    sender: String,
}

/// Why SES did not take a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// SES is down, throttled or paused: the same message may go through later.
    Unavailable(String),
    /// SES refused this message for what it is (an address or sender it will not take): sending
    /// it again changes nothing.
    Refused(String),
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendError::Unavailable(why) => write!(f, "SES is unavailable: {why}"),
            SendError::Refused(why) => write!(f, "SES refused the message: {why}"),
        }
    }
}

/// SES's answers that are about the message itself, never about SES's state.
const REFUSALS: &[&str] =
    &["MessageRejected", "MailFromDomainNotVerifiedException", "ConfigurationSetDoesNotExistException", "InvalidParameterValue"];

pub struct Email {
    pub to: Vec<String>,
    pub subject: String,
    pub body: String,
}

impl Mailer {
    pub fn new(client: Client, sender: impl Into<String>) -> Mailer {
        Mailer { client, sender: sender.into() }
    }

    /// Sends one message and returns SES's message ID.
    pub async fn send(&self, email: &Email) -> Result<String, SendError> {
        let content = |text: &str| Content::builder().data(text).charset("UTF-8").build().map_err(|e| SendError::Refused(e.to_string()));
        let message =
            Message::builder().subject(content(&email.subject)?).body(Body::builder().text(content(&email.body)?).build()).build();
        let out = self
            .client
            .send_email()
            .source(&self.sender)
            .destination(Destination::builder().set_to_addresses(Some(email.to.clone())).build())
            .message(message)
            .send()
            .await
            .map_err(|e| {
                let refused = e.as_service_error().and_then(|s| s.code()).is_some_and(|code| REFUSALS.contains(&code));
                let why = DisplayErrorContext(&e).to_string();
                if refused {
                    SendError::Refused(why)
                } else {
                    SendError::Unavailable(why)
                }
            })?;
        Ok(out.message_id)
    }
}
