//! Integration tests for pylon-accesslog.
