// Shared mocha setup.
export {};
