//! Email through SES: plain-text messages from the configured sender.

use aws_sdk_ses::error::DisplayErrorContext;
use aws_sdk_ses::types::{Body, Content, Destination, Message};
use aws_sdk_ses::Client;

/// SES accepts up to 50 recipients; the contract allows 10 a message.
pub const MAX_RECIPIENTS: usize = 10;

#[derive(Clone)]
pub struct Mailer {
    client: Client,
    sender: String,
}

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
    pub async fn send(&self, email: &Email) -> Result<String, String> {
        let content = |text: &str| Content::builder().data(text).charset("UTF-8").build().map_err(|e| e.to_string());
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
            .map_err(|e| DisplayErrorContext(&e).to_string())?;
        Ok(out.message_id)
    }
}
