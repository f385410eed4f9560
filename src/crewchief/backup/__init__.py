"""Backups: a content-addressed repository of chunks on local disk or S3.

`storage` is the small key/value interface every backend implements (with one
contract test suite for all of them); `chunker` splits large files at
content-defined boundaries so unchanged data deduplicates between backups.
"""
