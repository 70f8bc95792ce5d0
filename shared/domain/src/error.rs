//! The ways a command can be refused, one per status class of the contract.

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DomainError {
    /// A field breaks a rule (400 `ValidationError`); `field` is a JSON path.
    #[error("{message}")]
    Validation { field: Option<String>, message: String },
    /// A PATCH names a field fixed at creation (400 `ImmutableField`).
    #[error("{field} cannot change after creation")]
    ImmutableField { field: String },
    /// The caller is a party but the action belongs to another party (403).
    #[error("{0}")]
    Forbidden(String),
    /// No such resource, or the caller is not a party to it (404).
    #[error("{0}")]
    NotFound(String),
    /// The resource's state forbids the action (409).
    #[error("{0}")]
    Conflict(String),
}

pub type DomainResult<T> = Result<T, DomainError>;

impl DomainError {
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        DomainError::Validation { field: Some(field.into()), message: message.into() }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        DomainError::Validation { field: None, message: message.into() }
    }
}
