output "repository_url" {
  value = aws_ecr_repository.repositorio.repository_url
}

output "arn" {
  value = aws_ecr_repository.repositorio.arn
}

output "registry_id" {
  value = aws_ecr_repository.repositorio.registry_id
}

output "image_tag_mutability" {
  value = aws_ecr_repository.repositorio.image_tag_mutability
}
