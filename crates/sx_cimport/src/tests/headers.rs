//! The system headers end to end (preprocessor, parser, translation, sx parser).
