# The course's repository, with scanning, tag mutability, an optional lifecycle policy, and the tags that
# publish_ecr passes (the project and environment that own it; set on create, so a killed apply is recovered).
resource "aws_ecr_repository" "repositorio" {
  name                 = var.nome
  image_tag_mutability = var.mutabilidade_tags
  tags                 = var.etiquetas

  image_scanning_configuration {
    scan_on_push = var.scan_on_push
  }
}

resource "aws_ecr_lifecycle_policy" "limpeza" {
  count      = var.manter_ultimas_imagens > 0 ? 1 : 0
  repository = aws_ecr_repository.repositorio.name

  policy = jsonencode({
    rules = [
      {
        rulePriority = 1
        description  = "Expire untagged images after a day"
        selection = {
          tagStatus   = "untagged"
          countType   = "sinceImagePushed"
          countUnit   = "days"
          countNumber = 1
        }
        action = { type = "expire" }
      },
      {
        rulePriority = 2
        description  = "Keep the last images"
        selection = {
          tagStatus   = "any"
          countType   = "imageCountMoreThan"
          countNumber = var.manter_ultimas_imagens
        }
        action = { type = "expire" }
      },
    ]
  })
}
