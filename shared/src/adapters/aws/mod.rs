//! AWS adapters (DynamoDB, SQS, Secrets Manager).
