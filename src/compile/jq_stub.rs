#[derive(Debug)]
pub struct JqFilter { src: String }
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JqCompileError { pub message: String, pub offset: Option<usize> }
impl JqFilter {
    pub fn compile(source: &str) -> Result<JqFilter, JqCompileError> { Ok(JqFilter { src: source.to_owned() }) }
    pub fn run(&self, input: &serde_json::Value) -> Result<Vec<serde_json::Value>, String> { Ok(vec![input.clone()]) }
    pub fn source(&self) -> &str { &self.src }
}
