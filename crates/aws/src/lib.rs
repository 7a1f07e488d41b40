//! # amiref-aws
//!
//! Every amiref port implemented on the AWS SDK.
