"""Example applications written as a user of dynamokit would write them; `blog` is the one `dynamokit demo` runs."""
